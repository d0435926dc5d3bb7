import Foundation
import Testing

/// `/metrics` against traffic the test sent: both real parsers accept it, and the values are
/// exactly what the requests must have produced, per route, pool, backend and status class.
@Suite struct MetricsTests {
    @Test func requestsAreCountedPerBackendAndStatusClassWithTheirLatency() async throws {
        let s = try await AdminTests.start()
        defer { s.bed.tearDown() }
        let blue = "127.0.0.1:\(s.blue.port)", green = "127.0.0.1:\(s.green.port)"
        // The test bed's readiness probe connected before: only the delta is this test's. The
        // probe's connect completes in the kernel's backlog, so the worker may count it only after
        // a first scrape: wait until it has.
        var connectionsBefore = 0.0
        try await waitUntil("the readiness probe's connection is counted") {
            let before = try await MetricsScrape.fetch(adminPort: s.adminPort, in: s.bed.directory)
            connectionsBefore = before.value("cutover_connections_total", ["listener": "web"]) ?? 0
            return connectionsBefore >= 1
        }
        _ = try await curlSequence(port: s.proxy.port, count: 5, in: s.bed.directory)
        _ = try await curlSequence(port: s.proxy.port, path: "/nowhere", count: 2, in: s.bed.directory)
        _ = try await curlSequence(port: s.proxy.port, path: "/status?code=503", count: 1, in: s.bed.directory)

        let m = try await MetricsScrape.fetch(adminPort: s.adminPort, in: s.bed.directory)
        let blueLabels = ["route": "app", "pool": "blue", "backend": blue]
        #expect(m.value("cutover_requests_total", blueLabels.merging(["code": "2xx"]) { $1 }) == 5, "\(m.text)")
        #expect(m.value("cutover_requests_total", blueLabels.merging(["code": "4xx"]) { $1 }) == 2)
        #expect(m.value("cutover_requests_total", blueLabels.merging(["code": "5xx"]) { $1 }) == 1)
        // The standby colour has its series from the start, at 0: a dashboard compares both.
        #expect(m.value("cutover_requests_total", ["pool": "green", "backend": green, "code": "2xx"]) == 0)
        #expect(m.sum("cutover_requests_total") == 8)

        let latency = ["route": "app", "pool": "blue"]
        #expect(m.value("cutover_request_duration_seconds_count", latency) == 8)
        #expect(m.value("cutover_request_duration_seconds_bucket", latency.merging(["le": "+Inf"]) { $1 }) == 8)
        let sum = try #require(m.value("cutover_request_duration_seconds_sum", latency))
        #expect(sum > 0 && sum < 8, "eight loopback requests took \(sum) s")
        // Sub-millisecond resolution: the first bucket is 50 µs, and buckets are cumulative.
        let buckets = m.samples.filter { $0.name == "cutover_request_duration_seconds_bucket" && $0.labels["pool"] == "blue" }
        #expect(buckets.first?.labels["le"] == "5e-05")
        #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.value <= $1.value })

        #expect(m.value("cutover_backend_up", ["pool": "blue", "backend": blue]) == 1)
        #expect(m.value("cutover_backend_effective_weight", ["pool": "green", "backend": green]) == 1)
        #expect(m.value("cutover_backend_in_flight", ["pool": "blue", "backend": blue]) == 0)
        #expect(m.value("cutover_route_pool_weight", ["route": "app", "pool": "blue"]) == 100)
        #expect(m.value("cutover_route_pool_weight", ["route": "app", "pool": "green"]) == 0)
        // Three curl runs, one client connection each, all closed by now.
        #expect(m.value("cutover_connections_total", ["listener": "web"]) == connectionsBefore + 3)
        #expect(m.value("cutover_connections_active", ["listener": "web"]) == 0)
        #expect(m.value("cutover_upstream_errors_total", ["pool": "blue", "backend": blue, "kind": "connect"]) == 0)
    }

    @Test func theProxysOwnAnswersAndUpstreamFailuresAreCountedApart() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let refusing = try bed.refusingPort()
        let adminPort = try Ports.free()
        let config = ProxyConfig.http(port: try Ports.free(), split: [("blue", 100)],
                                      pools: [.init(name: "blue", backends: [(refusing, 1)])])
            .withAdmin(port: adminPort)
        let proxy = try await bed.proxy(config)

        let answers = try await curlSequence(port: proxy.port, count: 3, in: bed.directory)
        #expect(answers.map(\.status) == [502, 502, 502])
        let client = try RawClient(port: proxy.port)
        try client.send("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        #expect(try await client.readResponse().status == 400)

        let m = try await MetricsScrape.fetch(adminPort: adminPort, in: bed.directory)
        // The proxy's answers carry no backend: the backend never answered.
        #expect(m.value("cutover_requests_total", ["pool": "blue", "backend": "", "code": "5xx"]) == 3, "\(m.text)")
        #expect(m.value("cutover_requests_total", ["pool": "", "backend": "", "code": "4xx"]) == 1)
        #expect(m.value("cutover_requests_total", ["pool": "blue", "backend": "127.0.0.1:\(refusing)", "code": "5xx"]) == 0)
        // Each request tried the one backend once: three refused connects.
        #expect(m.value("cutover_upstream_errors_total", ["pool": "blue", "backend": "127.0.0.1:\(refusing)", "kind": "connect"]) == 3)
        #expect(m.value("cutover_upstream_errors_total", ["pool": "blue", "backend": "127.0.0.1:\(refusing)", "kind": "reset"]) == 0)
    }

    @Test func aBackendThatAnswersGarbageOrDiesIsCountedByKind() async throws {
        let s = try await AdminTests.start()
        defer { s.bed.tearDown() }
        let blue = "127.0.0.1:\(s.blue.port)"
        #expect(try await curlSequence(port: s.proxy.port, path: "/garbage", count: 1, in: s.bed.directory).map(\.status) == [502])
        // /drop closes without answering: a safe GET is replayed (here on the same single
        // backend, which drops it again), so each attempt is one reset.
        let dropped = try await curlSequence(port: s.proxy.port, path: "/drop", count: 1, in: s.bed.directory)
        #expect(dropped.map(\.status) == [502])

        let m = try await MetricsScrape.fetch(adminPort: s.adminPort, in: s.bed.directory)
        #expect(m.value("cutover_upstream_errors_total", ["backend": blue, "kind": "protocol"]) == 1, "\(m.text)")
        #expect((m.value("cutover_upstream_errors_total", ["backend": blue, "kind": "reset"]) ?? 0) >= 1)
        #expect(m.value("cutover_requests_total", ["pool": "blue", "backend": "", "code": "5xx"]) == 2)
    }

    @Test func blueAndGreenSeriesSideBySideAcrossASwitch() async throws {
        let s = try await AdminTests.start()
        defer { s.bed.tearDown() }
        #expect(try await s.backends(count: 3) == ["blue", "blue", "blue"])
        try s.write(s.config(blue: 0, green: 100).yaml)
        #expect(try await s.admin("POST", "/reload").status == 200)
        #expect(try await s.backends(count: 4) == Array(repeating: "green", count: 4))

        let m = try await MetricsScrape.fetch(adminPort: s.adminPort, in: s.bed.directory)
        #expect(m.value("cutover_requests_total", ["pool": "blue", "code": "2xx"]) == 3, "\(m.text)")
        #expect(m.value("cutover_requests_total", ["pool": "green", "code": "2xx"]) == 4)
        #expect(m.value("cutover_request_duration_seconds_count", ["route": "app", "pool": "blue"]) == 3)
        #expect(m.value("cutover_request_duration_seconds_count", ["route": "app", "pool": "green"]) == 4)
        #expect(m.value("cutover_route_pool_weight", ["route": "app", "pool": "blue"]) == 0)
        #expect(m.value("cutover_route_pool_weight", ["route": "app", "pool": "green"]) == 100)
        #expect(m.value("cutover_config_generation") == 2)
        #expect(m.value("cutover_config_reloads_total", ["result": "success"]) == 1)
        #expect(m.value("cutover_config_reloads_total", ["result": "failure"]) == 0)
    }
}

import Foundation
import Testing

/// Passive health (`passive: {consecutive_failures, eject_for}`): a backend failing requests in a
/// row leaves rotation for `eject_for` and then comes back; the last usable backend of a pool is
/// never ejected, and `/status` says so. One worker, so "in a row" is one sequence.
@Suite struct PassiveHealthTests {
    struct Setup {
        let bed: TestBed
        let proxy: ProxyProcess
        let adminPort: UInt16

        /// The pool `blue`'s backend at `port` in `/status`.
        func status(of port: UInt16) async throws -> [String: Any] {
            let client = try RawClient(port: adminPort)
            try client.send("GET /status HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
            let response = try await client.readResponse()
            let status = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
            let pools = try #require(status["pools"] as? [[String: Any]])
            let backends = try #require(pools.first { $0["name"] as? String == "blue" }?["backends"] as? [[String: Any]])
            return try #require(backends.first { $0["address"] as? String == "127.0.0.1:\(port)" })
        }

        func statuses(_ count: Int) async throws -> [Int] {
            try await curlSequence(port: proxy.port, count: count, in: bed.directory).map(\.status)
        }
    }

    static func start(_ ports: [UInt16], bed: TestBed, passive: String) async throws -> Setup {
        let adminPort = try Ports.free()
        let config = ProxyConfig.http(port: try Ports.free(), split: [("blue", 100)],
                                      pools: [.init(name: "blue", backends: ports.map { ($0, 1) })])
            .adding(pool: "blue", lines: ["passive: \(passive)"])
            .withAdmin(port: adminPort)
        return Setup(bed: bed, proxy: try await bed.proxy(config), adminPort: adminPort)
    }

    @Test func aBackendAnswering5xxInARowIsEjectedThenComesBack() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let good = try await bed.backend("good")
        let broken = try await bed.failingBackend("broken", status: 500)
        let s = try await Self.start([good.port, broken.port], bed: bed,
                                     passive: "{ consecutive_failures: 3, eject_for: 1500ms }")

        // Round robin alternates: six requests give the broken backend its three in a row.
        #expect(try await s.statuses(6).sorted() == [200, 200, 200, 500, 500, 500])
        try await waitUntil("the broken backend is ejected") { try await s.status(of: broken.port)["passive"] as? String == "ejected" }
        let ejected = try await s.status(of: broken.port)
        let left = try #require(ejected["ejected_seconds_left"] as? Double)
        #expect(left > 0 && left <= 1.5)
        #expect(ejected["effective_weight"] as? Int == 0)
        #expect(ejected["errors"] as? Int == 3)

        #expect(try await s.statuses(10) == Array(repeating: 200, count: 10))
        let m = try await MetricsScrape.fetch(adminPort: s.adminPort, in: bed.directory)
        #expect(m.value("cutover_backend_up", ["backend": "127.0.0.1:\(broken.port)"]) == 0)
        #expect(m.value("cutover_requests_total", ["backend": "127.0.0.1:\(broken.port)", "code": "5xx"]) == 3)

        // After eject_for it is tried again (and, still broken, answers 500 again).
        try await waitUntil("the ejection ends", timeout: .seconds(5)) { try await s.status(of: broken.port)["passive"] == nil }
        #expect(try await s.statuses(4).filter { $0 == 500 }.count == 2)
    }

    @Test func theLastUsableBackendIsKeptAndStatusSaysWhy() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let broken = try await bed.failingBackend("broken", status: 503)
        let s = try await Self.start([broken.port], bed: bed, passive: "{ consecutive_failures: 2, eject_for: 30s }")

        // A failing backend beats none: its answers still reach the client, never a 503 of ours.
        #expect(try await s.statuses(5) == Array(repeating: 503, count: 5))
        try await waitUntil("status explains the kept backend") {
            try await s.status(of: broken.port)["passive"] as? String == "not ejected: last usable backend"
        }
        let kept = try await s.status(of: broken.port)
        #expect(kept["effective_weight"] as? Int == 1)
        #expect(kept["ejected_seconds_left"] == nil)
        let bodies = try await bed.curl(["http://127.0.0.1:\(s.proxy.port)/"])
        #expect(bodies.text == "broken failing")
    }

    @Test func refusedConnectsEjectWithoutAClientError() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let good = try await bed.backend("good")
        let refusing = try bed.refusingPort()
        let s = try await Self.start([good.port, refusing], bed: bed, passive: "{ consecutive_failures: 2, eject_for: 30s }")

        // Refused connects are retried on the good backend: the client never sees them.
        #expect(try await s.statuses(8) == Array(repeating: 200, count: 8))
        try await waitUntil("the refusing backend is ejected") { try await s.status(of: refusing)["passive"] as? String == "ejected" }
        let label = ["backend": "127.0.0.1:\(refusing)", "kind": "connect"]
        let before = try #require(try await MetricsScrape.fetch(adminPort: s.adminPort, in: bed.directory).value("cutover_upstream_errors_total", label))
        #expect(before >= 2)

        // Ejected: not even tried any more.
        #expect(try await s.statuses(10) == Array(repeating: 200, count: 10))
        let after = try await MetricsScrape.fetch(adminPort: s.adminPort, in: bed.directory).value("cutover_upstream_errors_total", label)
        #expect(after == before)
    }
}

import Foundation
import Testing

/// Scenarios 1 and 2: requests reach the backends over reused connections, and are spread by
/// the pool's round robin and the route's split exactly as the weights say.
@Suite struct ProxyingTests {
    @Test func keepAliveClientAndUpstreamConnectionsAreReused() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])

        let exchanges = try await curlSequence(port: proxy.port, count: 10, in: bed.directory)

        #expect(exchanges.count == 10)
        #expect(exchanges.allSatisfy { $0.status == 200 && $0.backend == "blue" })
        // curl opened one connection to the proxy and sent all ten requests on it...
        #expect(exchanges.map(\.newClientConnections) == [1] + Array(repeating: 0, count: 9))
        // ...and the proxy sent them all over one upstream connection from its idle pool.
        #expect(Set(exchanges.map(\.upstreamConnection)).count == 1, "X-Conn values: \(exchanges.map(\.upstreamConnection))")
        #expect(try await blue.counts().heads == 10)
    }

    @Test func roundRobinAlternatesBetweenEqualBackends() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let b = try await bed.backend("b")
        let proxy = try await bed.proxy(for: [a, b])

        let backends = try await curlSequence(port: proxy.port, count: 10, in: bed.directory).map(\.backend)

        #expect(backends.filter { $0 == "a" }.count == 5)
        #expect(backends.filter { $0 == "b" }.count == 5)
        for (first, second) in zip(backends, backends.dropFirst()) {
            #expect(first != second, "round robin must alternate: \(backends)")
        }
    }

    @Test func roundRobinHonoursWeightsThreeToOne() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let heavy = try await bed.backend("heavy")
        let light = try await bed.backend("light")
        let config = ProxyConfig.http(port: try Ports.free(), split: [("blue", 100)], pools: [
            .init(name: "blue", backends: [(heavy.port, 3), (light.port, 1)]),
        ])
        let proxy = try await bed.proxy(config)

        let backends = try await curlSequence(port: proxy.port, count: 40, in: bed.directory).map(\.backend)

        #expect(backends.filter { $0 == "heavy" }.count == 30)
        #expect(backends.filter { $0 == "light" }.count == 10)
        // Smooth: every run of four requests holds exactly one for the light backend.
        for start in stride(from: 0, to: 40, by: 4) {
            #expect(backends[start..<start + 4].filter { $0 == "light" }.count == 1, "\(backends)")
        }
    }

    @Test func routeSplitsBetweenPoolsByWeight() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let green = try await bed.backend("green")
        let config = ProxyConfig.http(port: try Ports.free(), split: [("blue", 3), ("green", 1)], pools: [
            .init(name: "blue", backends: [(blue.port, 1)]),
            .init(name: "green", backends: [(green.port, 1)]),
        ])
        let proxy = try await bed.proxy(config)

        let backends = try await curlSequence(port: proxy.port, count: 40, in: bed.directory).map(\.backend)

        #expect(backends.filter { $0 == "blue" }.count == 30)
        #expect(backends.filter { $0 == "green" }.count == 10)
        #expect(try await blue.counts().heads == 30)
        #expect(try await green.counts().heads == 10)
    }

    @Test func poolWithZeroSplitWeightGetsNothing() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let green = try await bed.backend("green")
        let config = ProxyConfig.http(port: try Ports.free(), split: [("blue", 100), ("green", 0)], pools: [
            .init(name: "blue", backends: [(blue.port, 1)]),
            .init(name: "green", backends: [(green.port, 1)]),
        ])
        let proxy = try await bed.proxy(config)

        let exchanges = try await curlSequence(port: proxy.port, count: 40, in: bed.directory)

        #expect(exchanges.allSatisfy { $0.status == 200 && $0.backend == "blue" })
        #expect(exchanges.count == 40)
        #expect(try await green.counts().heads == 0)
    }
}

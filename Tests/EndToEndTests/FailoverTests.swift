import Foundation
import Testing

/// Scenario 8: a backend that refuses connections is answered 502 when it is all there is, and
/// transparently skipped when the pool has another; a backend that answers garbage, or closes
/// without answering, is a 502 too.
@Suite struct FailoverTests {
    @Test func poolWhoseOnlyBackendRefusesAnswers502() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let refusing = try bed.refusingPort()
        let config = ProxyConfig.http(port: try Ports.free(), split: [("blue", 100)],
                                      pools: [.init(name: "blue", backends: [(refusing, 1)])])
        let proxy = try await bed.proxy(config)
        let client = try RawClient(port: proxy.port)

        try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try await client.readResponse()

        #expect(response.status == 502)
        #expect(response.header("Content-Type") == "text/plain")
        #expect(!response.body.isEmpty && response.body.count < 200)
        #expect(response.bodyText.hasPrefix("Bad Gateway"))
        #expect(response.announcesClose)
        #expect(try await client.closesWithoutMoreData())
    }

    @Test func refusingBackendIsRetriedOnTheHealthyOne() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let healthy = try await bed.backend("healthy")
        let refusing = try bed.refusingPort()
        let config = ProxyConfig.http(port: try Ports.free(), split: [("blue", 100)], pools: [
            .init(name: "blue", backends: [(refusing, 1), (healthy.port, 1)]),
        ])
        let proxy = try await bed.proxy(config)

        // Separate client connections too, so the idle upstream pool cannot hide the refusals.
        var exchanges: [Exchange] = []
        for _ in 0..<5 {
            exchanges += try await curlSequence(port: proxy.port, count: 4, in: bed.directory)
        }

        #expect(exchanges.count == 20)
        #expect(exchanges.allSatisfy { $0.status == 200 && $0.backend == "healthy" }, "\(exchanges)")
        #expect(try await healthy.counts().heads == 20)
    }

    @Test(arguments: ["/garbage", "/drop"])
    func backendThatAnswersBadlyGives502(path: String) async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let client = try RawClient(port: proxy.port)

        try client.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try await client.readResponse()

        #expect(response.status == 502)
        #expect(response.bodyText.hasPrefix("Bad Gateway"))
        #expect(response.announcesClose)
        #expect(try await blue.counts().heads == 1)
    }
}

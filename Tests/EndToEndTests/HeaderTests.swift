import Foundation
import Testing

/// Scenario 3: what the proxy adds to, keeps in, and strips from a request before the backend.
@Suite struct HeaderTests {
    /// The fields the backend received, as `/headers` reports them.
    struct Received: Decodable {
        var requestLine: String
        var headers: [[String]]

        enum CodingKeys: String, CodingKey {
            case requestLine = "request_line"
            case headers
        }

        func values(_ name: String) -> [String] {
            headers.filter { $0[0].lowercased() == name.lowercased() }.map { $0[1] }
        }
    }

    @Test func forwardedHeadersAreSetAndHopByHopHeadersRemoved() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])

        let result = try await bed.curl([
            "http://127.0.0.1:\(proxy.port)/headers?x=1",
            "-H", "Host: shop.example.test",
            "-H", "X-Forwarded-For: 203.0.113.7",
            "-H", "X-Forwarded-Proto: https",
            "-H", "Connection: keep-alive, Foo",
            "-H", "Foo: must-not-pass",
            "-H", "Keep-Alive: timeout=5",
            "-H", "TE: trailers",
            "-H", "Proxy-Connection: keep-alive",
            "-H", "X-Custom: kept as is",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let received = try JSONDecoder().decode(Received.self, from: result.stdout)

        #expect(received.requestLine == "GET /headers?x=1 HTTP/1.1")
        #expect(received.values("Host") == ["shop.example.test"])
        #expect(received.values("X-Forwarded-For") == ["203.0.113.7, 127.0.0.1"])
        #expect(received.values("X-Forwarded-Proto") == ["http"])
        #expect(received.values("X-Custom") == ["kept as is"])
        for hopByHop in ["Connection", "Foo", "Keep-Alive", "TE", "Proxy-Connection"] {
            #expect(received.values(hopByHop).isEmpty, "\(hopByHop) reached the backend: \(received.headers)")
        }
    }

    @Test func forwardedForStartsWithTheClientWhenNoneWasSent() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])

        let client = try RawClient(port: proxy.port)
        try client.send("GET /headers HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 198.51.100.2\r\n\r\n")
        let withTwo = try await client.readResponse()
        try client.send("GET /headers HTTP/1.1\r\nHost: a.test\r\n\r\n")
        let withNone = try await client.readResponse()

        let two = try JSONDecoder().decode(Received.self, from: Data(withTwo.body))
        let none = try JSONDecoder().decode(Received.self, from: Data(withNone.body))
        #expect(two.values("X-Forwarded-For") == ["198.51.100.1, 198.51.100.2, 127.0.0.1"])
        #expect(none.values("X-Forwarded-For") == ["127.0.0.1"])
        #expect(none.values("X-Forwarded-Proto") == ["http"])
    }
}

import Foundation
import Testing

/// Scenario 5: pipelined requests are answered in order; HTTP/1.0 clients get HTTP/1.0 semantics.
@Suite struct PipeliningTests {
    @Test func threePipelinedRequestsAreAnsweredInOrder() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let client = try RawClient(port: proxy.port)

        // One write; the first is the slowest, so answering in completion order would show.
        try client.send(
            "GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nsecond"
            + "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        var responses: [HTTPResponse] = []
        for _ in 0..<3 { responses.append(try await client.readResponse()) }

        #expect(responses.map(\.status) == [200, 200, 200])
        #expect(responses.map(\.bodyText) == ["slow", "second", "blue"])
        #expect(client.buffer.isEmpty)
    }

    @Test func http10RequestIsAnsweredThenTheConnectionCloses() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let client = try RawClient(port: proxy.port)

        try client.send("GET / HTTP/1.0\r\n\r\n")
        let response = try await client.readResponse()

        #expect(response.status == 200)
        #expect(response.bodyText == "blue")
        #expect(response.announcesClose)
        #expect(try await client.closesWithoutMoreData())
    }

    @Test func http10KeepAliveIsHonoured() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let client = try RawClient(port: proxy.port)

        try client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let first = try await client.readResponse()
        try client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let second = try await client.readResponse()

        #expect(first.status == 200 && first.bodyText == "blue")
        #expect(first.header("Connection")?.lowercased() == "keep-alive")
        #expect(second.status == 200 && second.bodyText == "blue")
    }

    @Test func http10ClientGetsChunkedUpstreamBodyDelimitedByClose() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let client = try RawClient(port: proxy.port)

        try client.send("GET /chunked?n=3&size=5 HTTP/1.0\r\n\r\n")
        let response = try await client.readResponse()

        #expect(response.status == 200)
        #expect(response.header("Transfer-Encoding") == nil)
        #expect(response.header("Content-Length") == nil)
        #expect(response.bodyText == "aaaaabbbbbccccc")
        #expect(client.sawEOF)
    }

    @Test func closeDelimitedUpstreamBodyReachesTheClientWhole() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let client = try RawClient(port: proxy.port)

        try client.send("GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try await client.readResponse()

        #expect(response.status == 200)
        #expect(response.bodyText == "closed-body-blue")
        #expect(response.announcesClose)
    }
}

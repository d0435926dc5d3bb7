import Foundation
import Testing

/// Scenario 10: a slow client gets 408, a slow upstream 504, an idle connection is closed.
@Suite struct TimeoutTests {
    @Test func clientSendingHalfAHeadGets408() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue]) { $0.setting(timeout: "client_header", "1s") }
        let client = try RawClient(port: proxy.port)

        let (response, elapsed) = try await timed {
            try client.send("GET / HTTP/1.1\r\nHost: x\r\n")
            return try await client.readResponse()
        }

        #expect(response.status == 408)
        #expect(response.announcesClose)
        #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(4), "answered after \(elapsed)")
        #expect(try await client.closesWithoutMoreData())
        #expect(try await blue.counts().heads == 0)
    }

    @Test func slowUpstreamGets504() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue]) { $0.setting(timeout: "upstream_response", "1s") }
        let client = try RawClient(port: proxy.port)

        let (response, elapsed) = try await timed {
            try client.send("GET /slow?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n")
            return try await client.readResponse()
        }

        #expect(response.status == 504)
        #expect(response.bodyText.hasPrefix("Gateway Timeout"))
        #expect(response.announcesClose)
        #expect(elapsed >= .milliseconds(900) && elapsed < .milliseconds(2900), "answered after \(elapsed)")
    }

    @Test func idleKeepAliveConnectionIsClosed() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue]) { $0.setting(timeout: "idle", "1s") }
        let client = try RawClient(port: proxy.port)

        try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try await client.readResponse()
        let (closed, elapsed) = try await timed { try await client.closesWithoutMoreData() }

        #expect(response.status == 200 && response.bodyText == "blue")
        #expect(closed)
        // The clock here starts only once this (possibly descheduled) test has read the response,
        // after the proxy's idle clock started: so the lower bound has slack, not the 1 s itself.
        #expect(elapsed >= .milliseconds(500) && elapsed < .seconds(4), "closed after \(elapsed)")
    }
}

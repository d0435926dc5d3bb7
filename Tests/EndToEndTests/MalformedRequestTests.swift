import Foundation
import Testing

/// Scenario 9: requests the proxy must refuse get the exact status and `Connection: close`, and
/// never reach a backend. (CONNECT is well-formed but not proxied: 501, likewise never forwarded.)
@Suite struct MalformedRequestTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var request: [UInt8]
        var status: Int
        var maxHeaderBytes: Int?
        /// Only the body is malformed: the head may legitimately have been forwarded already, so
        /// what must not happen is the backend receiving the request whole.
        var badBodyOnly = false

        init(_ name: String, _ request: String, _ status: Int, maxHeaderBytes: Int? = nil, badBodyOnly: Bool = false) {
            self.name = name
            self.request = Array(request.utf8)
            self.status = status
            self.maxHeaderBytes = maxHeaderBytes
            self.badBodyOnly = badBodyOnly
        }

        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case("Content-Length with Transfer-Encoding",
             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        Case("two different Content-Length",
             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
        Case("negative Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        Case("signed Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400),
        Case("Transfer-Encoding gzip", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello", 400),
        Case("chunked twice",
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
        Case("obsolete line folding", "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400),
        Case("space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-Spaced : a\r\n\r\n", 400),
        Case("NUL in a header value", "GET / HTTP/1.1\r\nHost: x\r\nX-Nul: a\u{0}b\r\n\r\n", 400),
        Case("bare CR in a header value", "GET / HTTP/1.1\r\nHost: x\r\nX-CR: a\rb\r\n\r\n", 400),
        Case("bare LF line ending", "GET / HTTP/1.1\nHost: x\n\n", 400),
        Case("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
        Case("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        Case("HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        Case("request-target over 8192 bytes",
             "GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        Case("header section over max_header_bytes",
             "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 3000))\r\n\r\n", 431,
             maxHeaderBytes: 2048),
        Case("CONNECT", "CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n", 501),
        Case("invalid chunk size",
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400,
             badBodyOnly: true),
    ]

    @Test(arguments: cases)
    func malformedRequestIsRefusedAndNeverForwarded(_ malformed: Case) async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue]) { config in
            malformed.maxHeaderBytes.map { config.setting(limit: "max_header_bytes", $0) } ?? config
        }
        let before = try await blue.counts()

        let client = try RawClient(port: proxy.port)
        try client.send(malformed.request)
        let response = try await client.readResponse()

        #expect(response.status == malformed.status, "\(response.status) \(response.bodyText)")
        #expect(response.announcesClose)
        #expect(try await client.closesWithoutMoreData())

        // A good request afterwards is served (the proxy survived) and is all the backend saw.
        let after = try await curlSequence(port: proxy.port, count: 1, in: bed.directory)
        #expect(after.map(\.status) == [200])
        let counts = try await blue.counts()
        #expect(counts.complete == before.complete + 1)
        if !malformed.badBodyOnly {
            #expect(counts.heads == before.heads + 1)
        }
    }
}

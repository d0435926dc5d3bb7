import Foundation
import Testing

/// Hardening, item 3: what reaches the upstream is in one canonical form, byte for byte (an
/// upstream that echoes the exact bytes it received), and requests a backend could read
/// differently from the proxy are refused before anything reaches it.
@Suite(.serialized) struct HardeningFramingTests {
    struct Echo {
        var status: Int
        var head: String
        var body: String
    }

    /// Sends `request` on a new connection; returns the answer, and the head and body the upstream
    /// received (when the answer is the upstream's).
    static func exchange(_ request: String, port: UInt16) async throws -> (response: HTTPResponse, echo: Echo?) {
        let client = try RawClient(port: port)
        try client.send(request)
        let response = try await client.readResponse()
        guard response.status == 200, response.header("Content-Type") == "application/json",
              let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String],
              let head = json["head"], let body = json["body"]
        else { return (response, nil) }
        return (response, Echo(status: response.status, head: head, body: body))
    }

    /// The head the upstream gets for a POST /echo whose framing fields are `framing`.
    static func post(framing: [String], body: String) -> String {
        "POST /echo HTTP/1.1\r\nHost: app\r\nX-Test: 1\r\n" + framing.map { $0 + "\r\n" }.joined()
            + "Connection: close\r\n\r\n" + body
    }

    static let forwardedLength = "POST /echo HTTP/1.1\r\nHost: app\r\nX-Test: 1\r\nContent-Length: 5\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n"
    static let forwardedChunked = "POST /echo HTTP/1.1\r\nHost: app\r\nX-Test: 1\r\nTransfer-Encoding: chunked\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n"
    static let chunkedBody = "5\r\nhello\r\n0\r\n\r\n"

    @Test func oddFramingReachesTheUpstreamInOneCanonicalForm() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let upstream = try await RawEchoUpstream.start(in: bed)
        let proxy = try await bed.proxy(.http(port: try Ports.free(), split: [("blue", 100)],
                                              pools: [.init(name: "blue", backends: [(upstream.port, 1)])]))

        // Baselines: what a plain Content-Length and a plain chunked request look like upstream.
        let plain = try await Self.exchange(Self.post(framing: ["Content-Length: 5"], body: "hello"), port: proxy.port)
        #expect(plain.echo?.head == Self.forwardedLength, "\(plain.echo?.head.debugDescription ?? "status \(plain.response.status)")")
        #expect(plain.echo?.body == "hello")
        let chunked = try await Self.exchange(Self.post(framing: ["Transfer-Encoding: chunked"], body: Self.chunkedBody), port: proxy.port)
        #expect(chunked.echo?.head == Self.forwardedChunked, "\(chunked.echo?.head.debugDescription ?? "status \(chunked.response.status)")")

        let lengthCases: [(String, [String])] = [
            ("Content-Length: 005", ["Content-Length: 005"]),
            ("Content-Length: 5, 5", ["Content-Length: 5, 5"]),
            ("two Content-Length: 5", ["Content-Length: 5", "Content-Length: 5"]),
        ]
        for (name, framing) in lengthCases {
            let sent = try await Self.exchange(Self.post(framing: framing, body: "hello"), port: proxy.port)
            #expect(sent.response.status == 200, "\(name): \(sent.response.status) \(sent.response.bodyText)")
            #expect(sent.echo?.head == Self.forwardedLength, "\(name): upstream got \(sent.echo?.head.debugDescription ?? "nothing")")
            #expect(sent.echo?.head == plain.echo?.head, "\(name): differs from a plain Content-Length: 5")
            #expect(sent.echo?.body == "hello", "\(name)")
        }
        for coding in ["CHUNKED", "Chunked"] {
            let sent = try await Self.exchange(Self.post(framing: ["Transfer-Encoding: \(coding)"], body: Self.chunkedBody), port: proxy.port)
            #expect(sent.response.status == 200, "\(coding): \(sent.response.status) \(sent.response.bodyText)")
            #expect(sent.echo?.head == Self.forwardedChunked, "\(coding): upstream got \(sent.echo?.head.debugDescription ?? "nothing")")
            #expect(sent.echo?.body == Self.chunkedBody, "\(coding): body \(sent.echo?.body.debugDescription ?? "-")")
        }
        // Content-Length: 0 stays when the client sent it.
        let empty = try await Self.exchange(Self.post(framing: ["Content-Length: 000"], body: ""), port: proxy.port)
        #expect(empty.echo?.head == Self.forwardedLength.replacingOccurrences(of: "Content-Length: 5", with: "Content-Length: 0"),
                "upstream got \(empty.echo?.head.debugDescription ?? "nothing")")
        // A valid Host with a port, and an IP literal, pass as they are.
        for host in ["a.com:80", "[::1]:8080"] {
            let sent = try await Self.exchange("GET /h HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n", port: proxy.port)
            #expect(sent.echo?.head == "GET /h HTTP/1.1\r\nHost: \(host)\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n",
                    "Host \(host): upstream got \(sent.echo?.head.debugDescription ?? "status \(sent.response.status)")")
        }
    }

    @Test func requestsABackendCouldReadDifferentlyAreRefusedBeforeReachingIt() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let upstream = try await RawEchoUpstream.start(in: bed)
        let proxy = try await bed.proxy(.http(port: try Ports.free(), split: [("blue", 100)],
                                              pools: [.init(name: "blue", backends: [(upstream.port, 1)])]))
        let cases: [(name: String, request: String, status: Int)] = [
            ("Transfer-Encoding: gzip, chunked",
             "POST /echo HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + Self.chunkedBody, 501),
            ("Host: a.com:80@b.com", "GET / HTTP/1.1\r\nHost: a.com:80@b.com\r\n\r\n", 400),
            ("Host: a b", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
            ("Host: a.com:80:81", "GET / HTTP/1.1\r\nHost: a.com:80:81\r\n\r\n", 400),
            ("TRACE with Content-Length", "TRACE / HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\n\r\nhello", 400),
            ("TRACE with a chunked body", "TRACE / HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n" + Self.chunkedBody, 400),
        ]
        for (index, c) in cases.enumerated() {
            let before = upstream.heads
            let refused = try await Self.exchange(c.request, port: proxy.port)
            #expect(refused.response.status == c.status, "\(c.name): \(refused.response.status) \(refused.response.bodyText)")
            // A request after it reaches the upstream (its GOT line is printed before it answers),
            // and it is the only one that did.
            let marker = "/marker-\(index)"
            let after = try await Self.exchange("GET \(marker) HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n", port: proxy.port)
            #expect(after.response.status == 200)
            let reached = Array(upstream.heads.dropFirst(before.count))
            #expect(reached.count == 1 && reached.first?.hasPrefix("GET \(marker) ") == true,
                    "\(c.name): the upstream received \(reached.map(\.debugDescription))")
        }
        // Plain TRACE (no body) is still forwarded.
        let trace = try await Self.exchange("TRACE /t HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n", port: proxy.port)
        #expect(trace.echo?.head.hasPrefix("TRACE /t HTTP/1.1\r\n") == true, "status \(trace.response.status)")
    }
}

import Testing
import HTTP1

/// Serializer output compared with the exact expected bytes.
@Suite struct UpstreamRequestSerializerTests {
    private func upstream(
        _ text: String, client: String = "127.0.0.1", proto: StaticString = "https", keepUpgrade: Bool = false,
        fallbackHost: String = "", capacity: Int? = nil
    ) -> String? {
        let p = parseRequest(text)
        expectComplete(p.result)
        let address = bytes(client)
        let host = bytes(fallbackHost)
        let bound = upstreamRequestHeadUpperBound(p.head, clientAddressCount: address.count + host.count)
        var out = [UInt8](repeating: 0, count: capacity ?? bound)
        let written = p.bytes.withUnsafeBytes { source in
            address.withUnsafeBytes { addr in
                host.withUnsafeBytes { hostBytes in
                    out.withUnsafeMutableBytes { dst in
                        writeUpstreamRequestHead(p.head, from: source, clientAddress: addr, forwardedProto: proto,
                                                 keepUpgrade: keepUpgrade, fallbackHost: hostBytes, into: dst)
                    }
                }
            }
        }
        guard let written else { return nil }
        #expect(written <= bound)
        return string(Array(out[0..<written]))
    }

    @Test func rewritesTheRequestForTheUpstream() {
        let text = "GET /x?y=1 HTTP/1.0\r\nHost: Example.com\r\nConnection: keep-alive, X-Secret\r\n"
            + "Keep-Alive: timeout=5\r\nX-Secret: s\r\nX-Forwarded-For: 10.0.0.1\r\nUser-Agent:  curl/8  \r\n"
            + "x-forwarded-for:10.0.0.2 , 10.0.0.3\r\nX-Forwarded-Proto: http\r\nTE: trailers\r\n"
            + "Proxy-Connection: keep-alive\r\nTrailer: X\r\nAccept: */*\r\n\r\n"
        #expect(upstream(text) ==
            "GET /x?y=1 HTTP/1.1\r\nHost: Example.com\r\nUser-Agent: curl/8\r\nAccept: */*\r\n"
            + "X-Forwarded-For: 10.0.0.1, 10.0.0.2 , 10.0.0.3, 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n")
    }

    @Test func suppliesHostForAnHTTP10RequestWithoutOne() {
        #expect(upstream("GET / HTTP/1.0\r\n\r\n", proto: "http", fallbackHost: "blue") ==
            "GET / HTTP/1.1\r\nHost: blue\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n")
    }

    @Test func keepsTheClientsHostOverTheFallback() {
        #expect(upstream("GET / HTTP/1.0\r\nHost: a\r\n\r\n", proto: "http", fallbackHost: "blue") ==
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n")
    }

    @Test func addsXForwardedForWhenTheClientSentNone() {
        #expect(upstream("GET / HTTP/1.1\r\nHost: a\r\n\r\n", client: "192.0.2.7", proto: "http") ==
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n\r\n")
    }

    @Test func skipsEmptyXForwardedForValues() {
        #expect(upstream("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For:\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n") ==
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1, 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n")
    }

    @Test func forwardsTheBodyFramingInOneCanonicalForm() {
        let tail = "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n"
        #expect(upstream("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello") ==
            "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" + tail)
        // Leading zeros (octal to some), a list of equal values, two equal fields: one plain number.
        #expect(upstream("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello") ==
            "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" + tail)
        #expect(upstream("POST /u HTTP/1.1\r\nContent-Length: 5, 5\r\nHost: a\r\n\r\nhello") ==
            "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" + tail)
        #expect(upstream("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length:5\r\n\r\nhello") ==
            "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" + tail)
        #expect(upstream("POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  CHUNKED , \r\n\r\n") ==
            "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" + tail)
        #expect(upstream("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n") ==
            "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n" + tail, "an explicit empty body stays explicit")
        #expect(upstream("GET /u HTTP/1.1\r\nHost: a\r\n\r\n") == "GET /u HTTP/1.1\r\nHost: a\r\n" + tail)
    }

    static let websocket = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: k\r\n\r\n"

    @Test func keepsUpgradeWhenTunnelling() {
        #expect(upstream(Self.websocket, keepUpgrade: true) ==
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n"
            + "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: https\r\nConnection: upgrade\r\n\r\n")
    }

    @Test func dropsUpgradeOtherwise() {
        #expect(upstream(Self.websocket) ==
            "GET /ws HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key: k\r\n"
            + "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n")
    }

    @Test func keepsTheOffsetsOfALeadingEmptyLine() {
        #expect(upstream("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") ==
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n")
    }

    @Test func returnsNilWhenTheBufferIsTooSmall() {
        let text = "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n"
        guard let full = upstream(text) else {
            Issue.record("no output")
            return
        }
        let needed = full.utf8.count
        for capacity in 0..<needed {
            #expect(upstream(text, capacity: capacity) == nil, "capacity \(capacity)")
        }
        #expect(upstream(text, capacity: needed) == full)
    }

    /// The bound holds even when every field grows by one byte (no space after the colon).
    @Test func upperBoundHoldsForDenseFields() {
        let fields = (0..<90).map { "X\($0):v\r\n" }.joined()
        let xff = (0..<9).map { _ in "X-Forwarded-For:1\r\n" }.joined()
        #expect(upstream("GET / HTTP/1.0\r\nHost:a\r\n" + fields + xff + "\r\n",
                         client: "2001:db8::1", keepUpgrade: true) != nil)
    }
}

@Suite struct ClientResponseSerializerTests {
    private func client(
        _ text: String, closeClient: Bool = false, clientIsHTTP10: Bool = false, dechunk: Bool = false,
        keepUpgrade: Bool = false, capacity: Int? = nil
    ) -> String? {
        let p = parseResponse(text)
        expectComplete(p.result)
        let bound = clientResponseHeadUpperBound(p.head)
        var out = [UInt8](repeating: 0, count: capacity ?? bound)
        let written = p.bytes.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { dst in
                writeClientResponseHead(p.head, from: source, closeClient: closeClient, clientIsHTTP10: clientIsHTTP10,
                                        dechunk: dechunk, keepUpgrade: keepUpgrade, into: dst)
            }
        }
        guard let written else { return nil }
        #expect(written <= bound)
        return string(Array(out[0..<written]))
    }

    @Test func rewritesTheVersionAndDropsHopByHopFields() {
        let text = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, X-Internal\r\n"
            + "Keep-Alive: timeout=5\r\nX-Internal: 1\r\nServer:  s \r\n\r\n"
        #expect(client(text) == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: s\r\n\r\n")
    }

    @Test func keepsReasonAndAddsTheMissingSpace() {
        #expect(client("HTTP/1.1 404 Not  Found\r\nContent-Length: 0\r\n\r\n") ==
            "HTTP/1.1 404 Not  Found\r\nContent-Length: 0\r\n\r\n")
        #expect(client("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") == "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n")
    }

    @Test func keepsTransferEncodingUnlessDechunking() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer: s\r\n\r\n"
        #expect(client(text) == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer: s\r\n\r\n")
        #expect(client(text, closeClient: true, clientIsHTTP10: true, dechunk: true) ==
            "HTTP/1.1 200 OK\r\nServer: s\r\nConnection: close\r\n\r\n")
    }

    @Test func tellsAnHTTP10ClientToKeepAlive() {
        #expect(client("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", clientIsHTTP10: true) ==
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
        #expect(client("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", closeClient: true, clientIsHTTP10: true) ==
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    static let switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: a\r\n\r\n"

    @Test func keepsUpgradeWhenTunnelling() {
        #expect(client(Self.switching, keepUpgrade: true) ==
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: a\r\nConnection: upgrade\r\n\r\n")
        #expect(client(Self.switching) ==
            "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: a\r\n\r\n")
    }

    @Test func listsEveryConnectionOptionInOneField() {
        #expect(client(Self.switching, closeClient: true, keepUpgrade: true) ==
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: a\r\nConnection: upgrade, close\r\n\r\n")
        #expect(client(Self.switching, clientIsHTTP10: true, keepUpgrade: true) ==
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: a\r\nConnection: upgrade, keep-alive\r\n\r\n")
    }

    @Test func returnsNilWhenTheBufferIsTooSmall() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        guard let full = client(text, closeClient: true) else {
            Issue.record("no output")
            return
        }
        for capacity in 0..<full.utf8.count {
            #expect(client(text, closeClient: true, capacity: capacity) == nil, "capacity \(capacity)")
        }
        #expect(client(text, closeClient: true, capacity: full.utf8.count) == full)
    }
}

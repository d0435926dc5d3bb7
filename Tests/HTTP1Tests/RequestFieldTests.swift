import Testing
import HTTP1

@Suite struct RequestFieldTests {
    @Test func recordsTrimmedNameAndValueRanges() {
        let p = parseRequest("GET / HTTP/1.1\r\nHost:  a.example \t\r\nX-Empty:\r\nX-Blank:   \r\nX-Inner: a  b\tc\r\nX-Tab:\tv\r\n\r\n")
        expectComplete(p.result)
        #expect(p.fieldNames == ["Host", "X-Empty", "X-Blank", "X-Inner", "X-Tab"])
        #expect(p.fieldValues == ["a.example", "", "", "a  b\tc", "v"])
    }

    @Test func letsObsTextThroughValues() {
        let p = parseRequest("GET / HTTP/1.1\r\nHost: a\r\nX: caf\u{E9}\r\n\r\n")
        expectComplete(p.result)
        #expect(p.fieldValues[1] == "caf\u{E9}")
    }

    @Test(arguments: [
        "Host : a\r\n",             // whitespace between name and colon
        "Host\t: a\r\n",
        "X-A: 1\r\n folded\r\n",    // obs-fold
        "X-A: 1\r\n\tfolded\r\n",
        ": empty-name\r\n",
        "Ho(st: a\r\n",             // name not a token
        "Host a\r\n",               // no colon
        "X-A\r\n",
        "X-A: a\u{00}b\r\n",        // NUL
        "X-A: a\rb\r\n",            // bare CR
        "X-A: a\u{01}b\r\n",        // control
        "X-A: a\u{1B}\r\n",
        "X-A: a\u{7F}\r\n",         // DEL
        "X-A: a\nX-B: b\r\n",       // bare LF ending a field
        "X-A: a\r\n\n",             // bare LF ending the head
        "X\u{E9}: a\r\n",           // obs-text in a name
    ])
    func rejectsMalformedFields(fields: String) {
        expectFailure(parseRequest("GET / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n").result, .malformed)
    }

    /// RFC 9112 §2.2: whitespace between the request line and the first field.
    @Test func rejectsWhitespaceBeforeTheFirstField() {
        expectFailure(parseRequest("GET / HTTP/1.1\r\n Host: a\r\n\r\n").result, .malformed)
    }

    @Test func rejectsAMissingHostInHTTP11() {
        expectFailure(parseRequest("GET / HTTP/1.1\r\nX: 1\r\n\r\n").result, .malformed)
    }

    @Test(arguments: ["HTTP/1.1", "HTTP/1.0"])
    func rejectsTwoHosts(version: String) {
        expectFailure(parseRequest("GET / \(version)\r\nHost: a\r\nhost: a\r\n\r\n").result, .malformed)
    }

    @Test func classifiesFieldsCaseInsensitively() {
        let p = parseRequest(
            "POST / HTTP/1.1\r\nhOST: a\r\nCONNECTION: keep-alive\r\nkeep-alive: timeout=5\r\nTe: trailers\r\n"
            + "Trailer: X\r\nProxy-Connection: keep-alive\r\nupgrade: websocket\r\n"
            + "TRANSFER-ENCODING: chunked\r\nx-forwarded-for: 1.2.3.4\r\nX-Forwarded-PROTO: http\r\n"
            + "Accept: */*\r\nExpect: 100-continue\r\nContent-Type: text/plain\r\n\r\n")
        expectComplete(p.result)
        #expect(p.kinds == [
            .host, .hopByHop, .hopByHop, .hopByHop, .hopByHop, .hopByHop, .upgrade,
            .transferEncoding, .xForwardedFor, .xForwardedProto, .other, .other, .other,
        ])
        let q = parseRequest("POST / HTTP/1.1\r\nHost: a\r\ncontent-LENGTH: 3\r\n\r\n")
        #expect(q.kinds == [.host, .contentLength])
    }

    @Test func demotesFieldsNamedByConnection() {
        let p = parseRequest(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Foo: 1\r\nConnection: keep-alive, x-foo\r\nX-Bar: 2\r\n"
            + "Connection: X-Baz\r\nx-baz: 3\r\n\r\n")
        expectComplete(p.result)
        #expect(p.fieldNames == ["Host", "X-Foo", "Connection", "X-Bar", "Connection", "x-baz"])
        #expect(p.kinds == [.host, .hopByHop, .hopByHop, .other, .hopByHop, .hopByHop])
    }

    /// Naming Host or a framing field in Connection must not make the proxy drop it.
    @Test func neverDemotesHostOrFramingFields() {
        let p = parseRequest(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX-Forwarded-For: 1.1.1.1\r\n"
            + "Connection: Host, Content-Length, X-Forwarded-For, Upgrade\r\nUpgrade: h2c\r\n\r\n")
        expectComplete(p.result)
        #expect(p.kinds == [.host, .contentLength, .xForwardedFor, .hopByHop, .upgrade])
        #expect(p.head.framing == .contentLength(3))
    }

    @Test(arguments: ["a b", "close;x", "\"close\"", "a/b"])
    func rejectsMalformedConnectionOptions(value: String) {
        expectFailure(parseRequest("GET / HTTP/1.1\r\nHost: a\r\nConnection: \(value)\r\n\r\n").result, .malformed)
    }

    @Test func acceptsEmptyConnectionListElements() {
        let p = parseRequest("GET / HTTP/1.1\r\nHost: a\r\nConnection: , close,,\r\n\r\n")
        expectComplete(p.result)
        #expect(p.head.wantsClose)
    }

    @Test func acceptsExactlyMaxFields() {
        let limits = ParseLimits(maxFields: 3)
        expectComplete(parseRequest("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits).result)
    }

    @Test func rejectsTooManyFieldsWith431() {
        let limits = ParseLimits(maxFields: 3)
        let p = parseRequest("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits)
        expectFailure(p.result, .headerTooLarge)
        if case .failure(let error) = p.result { #expect(error.status == 431) }
    }
}

import Testing
import HTTP1

@Suite struct RequestLineTests {
    @Test func parsesAnOriginFormRequest() {
        let text = "GET /path?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"
        let p = parseRequest(text)
        expectComplete(p.result)
        #expect(p.text(p.head.method) == "GET")
        #expect(p.text(p.head.target) == "/path?q=1")
        #expect(p.head.version == .http11)
        #expect(p.head.headLength == text.utf8.count)
        #expect(p.head.framing == .none)
        #expect(!p.head.wantsClose)
        #expect(!p.head.isHEAD && !p.head.isCONNECT)
    }

    @Test func http10WithoutHostIsAcceptedAndClosesByDefault() {
        let p = parseRequest("GET / HTTP/1.0\r\n\r\n")
        expectComplete(p.result)
        #expect(p.head.version == .http10)
        #expect(p.head.wantsClose)
    }

    /// RFC 9112 §2.2: one empty line before the request line is skipped; offsets stay relative
    /// to the buffer and the empty line counts in headLength.
    @Test func skipsOneLeadingEmptyLine() {
        let text = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        let p = parseRequest(text)
        expectComplete(p.result)
        #expect(p.head.method == 2..<5)
        #expect(p.head.headLength == text.utf8.count)
    }

    @Test func rejectsTwoLeadingEmptyLines() {
        expectFailure(parseRequest("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").result, .malformed)
    }

    @Test(arguments: [
        "GET  / HTTP/1.1\r\n",            // two spaces before the target
        "GET /  HTTP/1.1\r\n",            // two spaces before the version
        " GET / HTTP/1.1\r\n",            // leading space
        "GET / HTTP/1.1 \r\n",            // trailing space
        "GET\t/ HTTP/1.1\r\n",            // HTAB separator
        "GET /\tx HTTP/1.1\r\n",          // HTAB in target
        "G(T / HTTP/1.1\r\n",             // method not a token
        " / HTTP/1.1\r\n",                // empty method
        "GET / http/1.1\r\n",             // HTTP-name is case-sensitive
        "GET / HTTP/1\r\n",
        "GET / HTTP/11\r\n",
        "GET / HTTP/1.1x\r\n",
        "GET / HTTP/a.b\r\n",
        "GET /\r\n",                      // HTTP/0.9
        "GET HTTP/1.1\r\n",               // no target
        "GET / HTTP/1.1\n",               // bare LF
        "GET / HTTP/1.1\rX\n",            // bare CR
        "GET /a\u{01}b HTTP/1.1\r\n",     // control in target
        "GET /a\u{7F}b HTTP/1.1\r\n",     // DEL in target
        "GET /a\u{00}b HTTP/1.1\r\n",     // NUL in target
        "GET\n/ HTTP/1.1\r\n",
    ])
    func rejectsMalformedRequestLines(line: String) {
        expectFailure(parseRequest(line + "Host: a\r\n\r\n").result, .malformed)
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0", "HTTP/9.9"])
    func rejectsOtherVersionsWith505(version: String) {
        let p = parseRequest("GET / \(version)\r\nHost: a\r\n\r\n")
        expectFailure(p.result, .versionNotSupported)
        if case .failure(let error) = p.result { #expect(error.status == 505) }
    }

    @Test func acceptsATargetOfExactlyTheLimit() {
        let limits = ParseLimits(maxTargetBytes: 16)
        let target = "/" + String(repeating: "a", count: 15)
        expectComplete(parseRequest("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits).result)
    }

    @Test func rejectsALongTargetWith414() {
        let limits = ParseLimits(maxTargetBytes: 16)
        let target = "/" + String(repeating: "a", count: 16)
        let p = parseRequest("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits)
        expectFailure(p.result, .uriTooLong)
        if case .failure(let error) = p.result { #expect(error.status == 414) }
    }

    /// 414 comes as soon as the target is too long, before the line (or the head) is complete.
    @Test func rejectsALongTargetBeforeTheLineIsComplete() {
        let limits = ParseLimits(maxTargetBytes: 16)
        expectFailure(parseRequest("GET /" + String(repeating: "a", count: 20), limits: limits).result, .uriTooLong)
        #expect((try? parseRequest("GET /" + String(repeating: "a", count: 10), limits: limits).result.get()) == .incomplete)
    }

    @Test func letsObsTextThroughTheTarget() {
        let p = parseRequest("GET /caf\u{E9} HTTP/1.1\r\nHost: a\r\n\r\n")
        expectComplete(p.result)
        #expect(p.text(p.head.target) == "/caf\u{E9}")
    }

    @Test func recognisesHEADAndCONNECTCaseSensitively() {
        #expect(parseRequest("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n").head.isHEAD)
        let connect = parseRequest("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        expectComplete(connect.result)
        #expect(connect.head.isCONNECT)
        #expect(connect.text(connect.head.target) == "example.com:443")
        let lower = parseRequest("head / HTTP/1.1\r\nHost: a\r\n\r\n")
        expectComplete(lower.result)
        #expect(!lower.head.isHEAD)
    }

    @Test func acceptsAbsoluteFormAndAsteriskForm() {
        expectComplete(parseRequest("GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n").result)
        expectComplete(parseRequest("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").result)
    }
}

import Testing
@testable import HTTP1

/// Found by the fuzz targets and the differential run against llhttp (Fuzz/, scripts/fuzz), kept
/// so the findings stay fixed and the documented differences stay true.
@Suite struct FuzzRegressionTests {
    /// Differential run (class "InvalidUrlError (authority-form, method not CONNECT)", 2,330 of
    /// 100,000 inputs): cutover accepted any non-empty target with any method, so
    /// `PUT a.example:443` or `GET *` were forwarded upstream. RFC 9112 §3.2: authority-form is
    /// for CONNECT only (§3.2.3), asterisk-form for OPTIONS only (§3.2.4).
    @Test(arguments: [
        "PUT a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST a HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET ?x HTTP/1.1\r\nHost: a\r\n\r\n",
    ])
    func targetFormMustSuitTheMethod(_ request: String) {
        expectFailure(parseRequest(request).result, .malformed)
    }

    @Test(arguments: [
        "GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
        "GET HTTPS://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
    ])
    func targetFormsThatSuitTheMethod(_ request: String) {
        expectComplete(parseRequest(request).result)
    }

    // The differences from llhttp that README's parsing section documents (Fuzz/differential/run.py
    // EXPLAINED): if one of these changes, change the README with it.

    @Test func unregisteredMethodTokensAreAccepted() {
        expectComplete(parseRequest("FOO / HTTP/1.1\r\nHost: a\r\n\r\n").result)
        expectComplete(parseRequest("get / HTTP/1.1\r\nHost: a\r\n\r\n").result)
    }

    @Test func obsTextAndUnsafeCharactersInTargetsAreForwarded() {
        let p = parseRequest("GET /caf\u{E9}/{x}|^` HTTP/1.1\r\nHost: a\r\n\r\n")
        expectComplete(p.result)
        #expect(p.text(p.head.target) == "/caf\u{E9}/{x}|^`")
    }

    @Test func identicalContentLengthsCountAsOne() {
        for fields in ["Content-Length: 5\r\nContent-Length: 5\r\n", "Content-Length: 5, 5\r\n"] {
            let p = parseRequest("POST / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n")
            expectComplete(p.result)
            #expect(p.head.framing == .contentLength(5))
        }
    }

    @Test func chunkedWithAParameterIsChunked() {
        let p = parseRequest("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n")
        expectComplete(p.result)
        #expect(p.head.framing == .chunked)
    }

    @Test func whitespaceBeforeAChunkExtensionIsBWS() {
        let body = bytes("5 ;a=\"b\"\r\nhello\r\n0\r\n\r\n")
        guard case .success(let decoded) = decodeChunked(body) else {
            Issue.record("rejected")
            return
        }
        #expect(decoded.finished && decoded.consumed == body.count)
        #expect(string(decoded.payload) == "hello")
    }
}

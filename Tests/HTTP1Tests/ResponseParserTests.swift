import Testing
import HTTP1

@Suite struct ResponseParserTests {
    @Test func parsesAStatusLine() {
        let text = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n"
        let p = parseResponse(text)
        expectComplete(p.result)
        #expect(p.head.status == 404)
        #expect(p.head.version == .http11)
        #expect(p.text(p.head.statusLine) == "HTTP/1.1 404 Not Found")
        #expect(p.text(p.head.reason) == "Not Found")
        #expect(p.head.headLength == text.utf8.count)
        #expect(p.head.framing == .contentLength(3))
        #expect(!p.head.wantsClose)
    }

    @Test(arguments: ["HTTP/1.1 200 \r\n", "HTTP/1.1 200\r\n"])
    func acceptsAnEmptyOrMissingReason(line: String) {
        let p = parseResponse(line + "Content-Length: 0\r\n\r\n")
        expectComplete(p.result)
        #expect(p.head.status == 200)
        #expect(p.head.reason.isEmpty)
        #expect(p.text(p.head.statusLine) == String(decoding: line.utf8.dropLast(2), as: UTF8.self))
    }

    @Test func keepsReasonBytesVerbatim() {
        let p = parseResponse("HTTP/1.0 200 Very\tOK caf\u{E9}\r\n\r\n")
        expectComplete(p.result)
        #expect(p.text(p.head.reason) == "Very\tOK caf\u{E9}")
        #expect(p.head.version == .http10)
    }

    @Test(arguments: [
        "HTTP/1.1  200 OK\r\n", "HTTP/1.1 20 OK\r\n", "HTTP/1.1 2000 OK\r\n", "HTTP/1.1 099 OK\r\n",
        "HTTP/1.1 600 OK\r\n", "HTTP/1.1 200OK\r\n", "http/1.1 200 OK\r\n", "HTTP/1.1 200 O\u{01}K\r\n",
        "HTTP/1.1 200 OK\n", "HTTP/1.1 200 OK\rX", "HTTP/1.1\t200 OK\r\n", "HTTP/1 200 OK\r\n",
        "\r\nHTTP/1.1 200 OK\r\n", " HTTP/1.1 200 OK\r\n", "HTTP/1.1 2x0 OK\r\n",
    ])
    func rejectsMalformedStatusLines(line: String) {
        expectFailure(parseResponse(line + "Content-Length: 0\r\n\r\n").result, .malformed)
    }

    @Test func rejectsOtherVersions() {
        expectFailure(parseResponse("HTTP/2.0 200 OK\r\n\r\n").result, .versionNotSupported)
    }

    /// Garbage from an upstream is rejected from its first bytes, not after maxHeaderBytes.
    @Test func rejectsANonHTTPPrefixEarly() {
        expectFailure(parseResponse("SSH-").result, .malformed)
        #expect((try? parseResponse("HTTP").result.get()) == .incomplete)
    }

    @Test(arguments: [
        "Content-Length : 5\r\n", "X: a\u{00}\r\n", "X: 1\r\n folded\r\n", "X: a\nY: b\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n", "Content-Length: -1\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked, chunked\r\n", "Transfer-Encoding: chunked;\r\n",
    ])
    func rejectsMalformedFields(fields: String) {
        expectFailure(parseResponse("HTTP/1.1 200 OK\r\n" + fields + "\r\n").result, .malformed)
    }

    @Test func rejectsTransferEncodingInHTTP10() {
        expectFailure(parseResponse("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").result, .malformed)
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", false, BodyFraming.contentLength(5)),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", false, .none),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", false, .chunked),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n", false, .chunked),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n", false, .untilClose),
        ("HTTP/1.1 200 OK\r\n", false, .untilClose),
        ("HTTP/1.0 200 OK\r\n", false, .untilClose),
        ("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n", false, .none),
        ("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n", false, .none),
        ("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n", false, .none),
        ("HTTP/1.1 100 Continue\r\n", false, .none),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n", false, .none),
        ("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n", false, .none),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", true, .none),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", true, .none),
        ("HTTP/1.1 200 OK\r\n", true, .none),
    ])
    func framing(head: String, requestWasHEAD: Bool, expected: BodyFraming) {
        let p = parseResponse(head + "\r\n", requestWasHEAD: requestWasHEAD)
        expectComplete(p.result)
        #expect(p.head.framing == expected)
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", false),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n", true),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n", false),
        ("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n", true),
        ("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n", false),
        ("HTTP/1.1 200 OK\r\n", true),   // close-delimited body
        ("HTTP/1.1 204 No Content\r\n", false),
    ])
    func wantsClose(head: String, expected: Bool) {
        let p = parseResponse(head + "\r\n")
        expectComplete(p.result)
        #expect(p.head.wantsClose == expected)
    }

    @Test func classifiesAndDemotesFields() {
        let p = parseResponse(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: X-Internal\r\nX-Internal: 1\r\n"
            + "Keep-Alive: timeout=5\r\nUpgrade: h2c\r\nServer: s\r\n\r\n")
        expectComplete(p.result)
        #expect(p.kinds == [.contentLength, .hopByHop, .hopByHop, .hopByHop, .upgrade, .other])
    }

    @Test func isIncompleteForEveryStrictPrefix() {
        let all = bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: s\r\n\r\nhello")
        let headLength = all.count - 5
        for n in 0..<headLength {
            let text = string(Array(all[0..<n]))
            guard case .success(.incomplete) = parseResponse(text).result else {
                Issue.record("prefix of \(n) bytes")
                return
            }
        }
        let p = parseResponse(string(all))
        expectComplete(p.result)
        #expect(p.head.headLength == headLength)
    }

    @Test func enforcesTheHeaderLimits() {
        let long = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "v", count: 100)
        expectFailure(parseResponse(long, limits: ParseLimits(maxHeaderBytes: 64)).result, .headerTooLarge)
        expectFailure(parseResponse("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n",
                                    limits: ParseLimits(maxFields: 1)).result, .headerTooLarge)
    }
}

import Testing
import HTTP1

@Suite struct RequestFramingTests {
    private func post(_ fields: String, version: String = "HTTP/1.1") -> ParsedRequest {
        parseRequest("POST / \(version)\r\nHost: a\r\n" + fields + "\r\n")
    }

    @Test func noBodyWithoutFramingFields() {
        #expect(post("").head.framing == .none)
    }

    @Test(arguments: [
        ("5", UInt64(5)), ("007", 7), ("5, 5", 5), ("5,5", 5), ("  42  ", 42),
        ("18446744073709551615", UInt64.max),
    ])
    func readsContentLength(value: String, length: UInt64) {
        let p = post("Content-Length: \(value)\r\n")
        expectComplete(p.result)
        #expect(p.head.framing == .contentLength(length))
    }

    /// Content-Length: 0 is reported as `.none`, so "no body" is one case for callers.
    @Test func zeroContentLengthMeansNoBody() {
        let p = post("Content-Length: 0\r\n")
        expectComplete(p.result)
        #expect(p.head.framing == .none)
    }

    @Test func identicalContentLengthFieldsCountAsOne() {
        let p = post("Content-Length: 5\r\ncontent-length: 5\r\n")
        expectComplete(p.result)
        #expect(p.head.framing == .contentLength(5))
    }

    @Test(arguments: [
        "", "+5", "-5", "5 5", "0x5", "5a", "a", "5,6", "5, ,5", "5,", ",5", "5;q",
        "18446744073709551616", "99999999999999999999999",
    ])
    func rejectsBadContentLength(value: String) {
        expectFailure(post("Content-Length: \(value)\r\n").result, .malformed)
    }

    @Test func rejectsDifferingContentLengthFields() {
        expectFailure(post("Content-Length: 5\r\nContent-Length: 6\r\n").result, .malformed)
    }

    @Test(arguments: ["chunked", "Chunked", "CHUNKED", " , chunked ,", "chunked;x=1"])
    func readsChunked(value: String) {
        let p = post("Transfer-Encoding: \(value)\r\n")
        expectComplete(p.result)
        #expect(p.head.framing == .chunked)
    }

    /// Well-formed, but forwarding it would mean forwarding a coding the proxy does not decode:
    /// 501 (RFC 9112 §6.1), as nginx answers.
    @Test(arguments: [
        "gzip, chunked", "gzip,chunked", "gzip;q=\"a,b\", chunked", "x ; a = b ; c=\"\\\"q\\\"\", chunked",
    ])
    func refusesCodingsBeforeChunked(value: String) {
        let p = post("Transfer-Encoding: \(value)\r\n")
        expectFailure(p.result, .notImplemented)
        if case .failure(let error) = p.result { #expect(error.status == 501) }
    }

    @Test func combinesSeveralTransferEncodingFieldsInOrder() {
        expectFailure(post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n").result, .notImplemented)
        expectFailure(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n").result, .unsupportedTransferCoding)
    }

    @Test(arguments: ["a.example", "a.example:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8443",
                      "[v1.x]", "xn--bcher-kva.example", "a%20b", "under_score.example", ""])
    func acceptsAValidHost(value: String) {
        expectComplete(parseRequest("GET / HTTP/1.1\r\nHost: \(value)\r\n\r\n").result)
    }

    @Test(arguments: ["a.com:80@b.com", "a b", "a.com:80:81", "[::1", "[]", "a.com:123456", "a/b", "a%zz",
                      "a.com:8x", "::1", "\"q\""])
    func refusesAnInvalidHost(value: String) {
        expectFailure(parseRequest("GET / HTTP/1.1\r\nHost: \(value)\r\n\r\n").result, .malformed)
    }

    @Test func refusesATraceWithABody() {
        expectFailure(parseRequest("TRACE / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc").result, .malformed)
        expectFailure(parseRequest("TRACE / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").result, .malformed)
        expectComplete(parseRequest("TRACE / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").result)
    }

    @Test(arguments: ["gzip", "chunked, gzip", "identity", "chunkedx"])
    func rejectsAFinalCodingOtherThanChunked(value: String) {
        let p = post("Transfer-Encoding: \(value)\r\n")
        expectFailure(p.result, .unsupportedTransferCoding)
        if case .failure(let error) = p.result { #expect(error.status == 400) }
    }

    @Test(arguments: ["chunked, chunked", "chunked,gzip,chunked"])
    func rejectsChunkedTwiceInOneField(value: String) {
        expectFailure(post("Transfer-Encoding: \(value)\r\n").result, .malformed)
    }

    @Test func rejectsChunkedTwiceAcrossFields() {
        expectFailure(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n").result, .malformed)
    }

    @Test(arguments: [
        "", ",", "chunked;", "chunked;a", "chunked;a=", "chunked foo", "chu\"nked", "gzip;q=\"open, chunked",
        "chunked;=b", "chunked;a=b c",
    ])
    func rejectsMalformedTransferEncoding(value: String) {
        expectFailure(post("Transfer-Encoding: \(value)\r\n").result, .malformed)
    }

    @Test(arguments: ["Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                      "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"])
    func rejectsTransferEncodingWithContentLength(fields: String) {
        expectFailure(post(fields).result, .malformed)
    }

    @Test func rejectsTransferEncodingInHTTP10() {
        expectFailure(post("Transfer-Encoding: chunked\r\n", version: "HTTP/1.0").result, .malformed)
    }

    @Test func http10MayUseContentLength() {
        let p = post("Content-Length: 3\r\n", version: "HTTP/1.0")
        expectComplete(p.result)
        #expect(p.head.framing == .contentLength(3))
    }
}

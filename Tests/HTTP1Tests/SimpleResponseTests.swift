import Testing
import HTTP1

@Suite struct SimpleResponseTests {
    private func simple(status: Int, body: StaticString, close: Bool, capacity: Int = 512) -> String? {
        var out = [UInt8](repeating: 0, count: capacity)
        let written = out.withUnsafeMutableBytes { dst in
            writeSimpleResponse(status: status, reason: reasonPhrase(status), body: body, close: close, into: dst)
        }
        guard let written else { return nil }
        #expect(written <= simpleResponseUpperBound(bodyCount: body.utf8CodeUnitCount))
        return string(Array(out[0..<written]))
    }

    @Test func writesAnErrorAnswer() {
        #expect(simple(status: 502, body: "bad gateway\n", close: true) ==
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad gateway\n")
        #expect(simple(status: 400, body: "", close: false) ==
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func returnsNilWhenTheBufferIsTooSmall() {
        guard let full = simple(status: 503, body: "busy", close: true) else {
            Issue.record("no output")
            return
        }
        for capacity in 0..<full.utf8.count {
            #expect(simple(status: 503, body: "busy", close: true, capacity: capacity) == nil)
        }
        #expect(simple(status: 503, body: "busy", close: true, capacity: full.utf8.count) == full)
    }

    @Test(arguments: [
        (400, "Bad Request"), (408, "Request Timeout"), (413, "Content Too Large"), (414, "URI Too Long"),
        (431, "Request Header Fields Too Large"), (500, "Internal Server Error"), (501, "Not Implemented"),
        (502, "Bad Gateway"), (503, "Service Unavailable"), (504, "Gateway Timeout"),
        (505, "HTTP Version Not Supported"), (299, ""),
    ])
    func reasonPhrases(status: Int, phrase: String) {
        #expect(reasonPhrase(status).description == phrase)
    }

    @Test func parseErrorsMapToTheirStatus() {
        #expect(HTTPParseError(.malformed, "").status == 400)
        #expect(HTTPParseError(.unsupportedTransferCoding, "").status == 400)
        #expect(HTTPParseError(.uriTooLong, "").status == 414)
        #expect(HTTPParseError(.headerTooLarge, "").status == 431)
        #expect(HTTPParseError(.versionNotSupported, "").status == 505)
    }
}

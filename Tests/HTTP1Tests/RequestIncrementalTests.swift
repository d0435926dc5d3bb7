import Testing
import HTTP1

/// The head parser is called again with all bytes whenever more arrive.
@Suite struct RequestIncrementalTests {
    static let request = "POST /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n"
        + "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nUser-Agent: t\r\n\r\n"

    @Test func isIncompleteForEveryStrictPrefix() {
        let all = bytes(Self.request)
        for n in 0..<all.count {
            let p = parseRequest(Array(all[0..<n]))
            guard case .success(.incomplete) = p.result else {
                Issue.record("prefix of \(n) bytes: \(p.result)")
                return
            }
        }
        let p = parseRequest(all)
        expectComplete(p.result)
        #expect(p.head.headLength == all.count)
        #expect(p.head.framing == .contentLength(5))
        #expect(p.kinds == [.host, .contentLength, .hopByHop, .hopByHop, .other])
    }

    @Test func isIncompleteForEveryPrefixWithALeadingEmptyLine() {
        let all = bytes("\r\n" + Self.request)
        for n in 0..<all.count {
            guard case .success(.incomplete) = parseRequest(Array(all[0..<n])).result else {
                Issue.record("prefix of \(n) bytes")
                return
            }
        }
        expectComplete(parseRequest(all).result)
    }

    @Test func leavesTheBodyAndPipelinedRequestsAlone() {
        let text = Self.request + "hello" + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
        let p = parseRequest(text)
        expectComplete(p.result)
        #expect(p.head.headLength == Self.request.utf8.count)
        let rest = Array(p.bytes[(p.head.headLength + 5)...])
        let next = parseRequest(rest)
        expectComplete(next.result)
        #expect(next.text(next.head.target) == "/next")
    }

    /// A malformed line is rejected as soon as it is complete, without waiting for the head.
    @Test func rejectsAMalformedLineBeforeTheHeadIsComplete() {
        expectFailure(parseRequest("GET / HTTP/1.1\r\nHost : a\r\n").result, .malformed)
        expectFailure(parseRequest("GET / HTTP/1.1\r\nX: a\u{01}").result, .malformed)
        expectFailure(parseRequest("GE(").result, .malformed)
    }

    @Test func rejectsAnIncompleteHeadLongerThanTheLimitWith431() {
        let limits = ParseLimits(maxHeaderBytes: 64)
        let start = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 30)
        #expect((try? parseRequest(start, limits: limits).result.get()) == .incomplete)
        let long = start + String(repeating: "v", count: 30)
        #expect(long.utf8.count > 64)
        expectFailure(parseRequest(long, limits: limits).result, .headerTooLarge)
    }

    @Test func rejectsACompleteHeadLongerThanTheLimitWith431() {
        let text = "GET / HTTP/1.1\r\nHost: a\r\nX: vvvvvvvvvv\r\n\r\n"
        expectComplete(parseRequest(text, limits: ParseLimits(maxHeaderBytes: text.utf8.count)).result)
        expectFailure(parseRequest(text, limits: ParseLimits(maxHeaderBytes: text.utf8.count - 1)).result, .headerTooLarge)
    }

    /// Only the head counts towards the limit, not the body or the next request after it.
    @Test func acceptsAHeadWithinTheLimitFollowedByMoreBytes() {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"
        let text = head + String(repeating: "b", count: 100)
        let p = parseRequest(text, limits: ParseLimits(maxHeaderBytes: head.utf8.count))
        expectComplete(p.result)
        #expect(p.head.headLength == head.utf8.count)
    }

    @Test func reusesTheFieldsStorageAcrossMessages() {
        var head = RequestHead()
        let first = bytes("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n")
        let second = bytes("GET /2 HTTP/1.0\r\n\r\n")
        let r1 = first.withUnsafeBytes { raw in
            Result { () throws(HTTPParseError) in try parseRequestHead(raw, limits: ParseLimits(), into: &head) }
        }
        #expect((try? r1.get()) == .complete)
        #expect(head.fields.count == 3)
        let capacity = head.fields.capacity
        let r2 = second.withUnsafeBytes { raw in
            Result { () throws(HTTPParseError) in try parseRequestHead(raw, limits: ParseLimits(), into: &head) }
        }
        #expect((try? r2.get()) == .complete)
        #expect(head.fields.isEmpty)
        #expect(head.fields.capacity == capacity)
        #expect(head.version == .http10)
        #expect(head.wantsClose)
        #expect(head.target == 4..<6)
    }
}

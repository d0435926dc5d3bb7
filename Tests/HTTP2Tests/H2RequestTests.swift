import CNGHTTP2
import Testing
@testable import HTTP2

/// Requests as the caller sees them: pseudo-headers, regular fields, cookies joined, and the
/// requests RFC 9113 calls malformed never reaching it.
@Suite struct H2RequestTests {
    @Test func getWithHeadersAndSplitCookies() throws {
        let (client, codec) = try connected()
        let id = client.request(path: "/a?b=c", headers: [("user-agent", "test"), ("cookie", "a=1"),
                                                          ("accept", "*/*"), ("cookie", "b=2")])
        try pump(client, codec)
        #expect(id == 1)
        #expect(takeEvents(codec) == [
            "request 1 GET https example.test /a?b=c [user-agent: test, accept: */*, cookie: a=1; b=2] end",
            "end 1",
        ])
        try codec.respond(1, 204, endStream: true)
        try pump(client, codec)
        #expect(client.responses[1]?.status == "204")
        #expect(client.responses[1]?.closedWith == H2ErrorCode.noError)
        #expect(takeEvents(codec) == ["closed 1 0"])
        #expect(codec.openStreamCount == 0)
    }

    @Test func requestTrailersArrive() throws {
        let (client, codec) = try connected()
        let id = client.request(method: "POST", body: Array("x".utf8), finished: false)
        try pump(client, codec)
        #expect(takeEvents(codec) == ["request 1 POST https example.test / []", "data 1 x"])
        // Trailers from the client: HEADERS with END_STREAM after the DATA.
        var trailer = [("x-checksum", "abc")]
        _ = withNV(&trailer) { nva, count in nghttp2_submit_trailer(client.session, id, nva, count) }
        client.bodies[id]?.finished = true
        try pump(client, codec)
        #expect(takeEvents(codec) == ["trailers 1 [x-checksum: abc]", "end 1"])
    }

    /// RFC 9113 §8.2.2: connection-specific fields make a request malformed. nghttp2 resets the
    /// stream itself (RST_STREAM PROTOCOL_ERROR); nothing reaches the caller, and the connection
    /// goes on.
    @Test(arguments: [("connection", "keep-alive"), ("keep-alive", "5"),
                      ("proxy-connection", "x"), ("transfer-encoding", "chunked"), ("upgrade", "websocket"),
                      ("te", "gzip"), ("bad name", "1")])
    func malformedRequestIsReset(field: (String, String)) throws {
        let (client, codec) = try connected()
        client.request(headers: [field])
        try pump(client, codec)
        #expect(client.resets[1] == H2ErrorCode.protocolError)
        #expect(client.responses[1]?.closedWith == H2ErrorCode.protocolError)
        #expect(takeEvents(codec) == [])
        // The next request on the connection is served.
        client.request(headers: [("te", "trailers")])
        try pump(client, codec)
        #expect(takeEvents(codec) == ["request 3 GET https example.test / [te: trailers] end", "end 3"])
    }

    /// RFC 9113 §8.2.1: a field name with uppercase letters is malformed. nghttp2 would merely
    /// drop the field; the codec's invalid-header callback resets the stream instead. (nghttp2's
    /// client lowercases what it sends, so the block is HPACK written by hand.)
    @Test func uppercaseFieldNameIsReset() throws {
        let codec = try H2ServerCodec()
        var input = preface + frame(type: 0x4)
        var block: [UInt8] = [0x82, 0x87, 0x84, 0x01, 12] + Array("example.test".utf8)  // GET https / authority
        block += [0x00, 7] + Array("X-Upper".utf8) + [1] + Array("1".utf8)  // literal, new name
        input += frame(type: 0x1, flags: 0x5, stream: 1, block)  // END_STREAM | END_HEADERS
        let taken = try input.withUnsafeBytes { try codec.receive($0) }
        #expect(taken == input.count)
        let out = frames(try drain(codec))
        let rst = out.first { $0.type == 0x3 }
        #expect(rst?.stream == 1)
        #expect(rst.map { Array($0.payload) } == [0, 0, 0, 1])  // PROTOCOL_ERROR
        #expect(takeEvents(codec) == [])
        // The same block with a lowercase name is a request.
        block = [0x82, 0x87, 0x84, 0x01, 12] + Array("example.test".utf8) + [0x00, 7] + Array("x-lower".utf8) + [1, 0x31]
        let next = frame(type: 0x1, flags: 0x5, stream: 3, block)
        _ = try next.withUnsafeBytes { try codec.receive($0) }
        #expect(takeEvents(codec) == ["request 3 GET https example.test / [x-lower: 1] end", "end 3"])
    }

    @Test func missingPseudoHeaderIsReset() throws {
        let (client, codec) = try connected()
        var fields = [(":method", "GET"), (":authority", "example.test"), (":path", "/")]  // no :scheme
        _ = withNV(&fields) { nva, count in nghttp2_submit_request(client.session, nil, nva, count, nil, nil) }
        try pump(client, codec)
        #expect(client.resets[1] == H2ErrorCode.protocolError)
        #expect(takeEvents(codec) == [])
    }

    /// A header block beyond maxHeaderListSize (counted as name + value + 32 per field) is
    /// answered 431 by the codec; the caller never sees it.
    @Test func oversizedHeaderListGets431() throws {
        var settings = H2Settings()
        settings.maxHeaderListSize = 1_000
        let (client, codec) = try connected(settings)
        client.request(headers: [("x-big", String(repeating: "a", count: 600)), ("x-big2", String(repeating: "b", count: 600))])
        try pump(client, codec)
        #expect(client.responses[1]?.status == "431")
        #expect(client.responses[1]?.closedWith != nil)
        #expect(takeEvents(codec) == [])
        client.request(headers: [("x-small", "ok")])
        try pump(client, codec)
        #expect(takeEvents(codec) == ["request 3 GET https example.test / [x-small: ok] end", "end 3"])
    }
}

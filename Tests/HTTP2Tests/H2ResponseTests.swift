import Testing
@testable import HTTP2

/// Responses: heads filtered for HTTP/2, bodies streamed from the caller's pieces as the
/// client's window allows, trailers, and many streams interleaved on one connection.
@Suite struct H2ResponseTests {
    @Test func hopByHopFieldsAreDropped() throws {
        let (client, codec) = try connected()
        client.request()
        try pump(client, codec)
        _ = takeEvents(codec)
        try codec.respond(1, 200, [("Content-Type", "text/plain"), ("Connection", "close, X-Hop"), ("Keep-Alive", "5"),
                                   ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("Proxy-Connection", "x"),
                                   ("X-Hop", "1"), ("TE", "gzip"), (":path", "/evil"), ("Set-Cookie", "a=1")],
                          endStream: true)
        try pump(client, codec)
        #expect(client.responses[1]?.headers.map { "\($0.0): \($0.1)" } == [":status: 200", "content-type: text/plain", "set-cookie: a=1"])
    }

    @Test func bodyStreamedInPiecesWithTrailers() throws {
        let (client, codec) = try connected()
        client.request()
        try pump(client, codec)
        _ = takeEvents(codec)
        try codec.respond(1, 200, [("content-type", "text/plain")], endStream: false)
        try pump(client, codec)
        // The head went out; the body waits (deferred) for bytes.
        #expect(client.responses[1]?.status == "200")
        #expect(client.responses[1]?.body == [])
        #expect(!codec.hasOutput)

        try codec.appendBody(1, "hello ")
        try pump(client, codec)
        #expect(client.responses[1]?.body == Array("hello ".utf8))
        try codec.appendBody(1, "world")
        #expect(codec.bufferedBody(stream: 1) == 5)
        try codec.finishBody(stream: 1, trailers: H2FieldList([("grpc-status", "0"), ("Connection", "close")]))
        try pump(client, codec)
        #expect(codec.bufferedBody(stream: 1) == 0)
        #expect(client.responses[1]?.body == Array("hello world".utf8))
        #expect(client.responses[1]?.trailers.map { "\($0.0): \($0.1)" } == ["grpc-status: 0"])
        #expect(client.responses[1]?.closedWith == 0)
        #expect(takeEvents(codec) == ["closed 1 0"])
        #expect(throws: H2Error.streamClosed) { try codec.appendBody(1, "late") }
    }

    @Test func bodyLargerThanClientWindowWaits() throws {
        // The client's stream window is 1,000: the rest stays buffered until it opens more.
        let (client, codec) = try connected(client: [.init(settings_id: 0x4, value: 1_000)])
        client.request()
        try pump(client, codec)
        _ = takeEvents(codec)
        try codec.respond(1, 200, endStream: false)
        try codec.appendBody(1, String(repeating: "z", count: 3_000))
        try codec.finishBody(stream: 1)
        let out = try drain(codec)
        let data = frames(out).filter { $0.type == 0x0 }
        #expect(data.reduce(0) { $0 + $1.payload.count } == 1_000)
        #expect(codec.bufferedBody(stream: 1) == 2_000)
        #expect(codec.bufferedBodyTotal == 2_000)
        client.feed(out)
        try pump(client, codec)  // the client's nghttp2 reopens its window as it reads
        #expect(client.responses[1]?.body.count == 3_000)
        #expect(codec.bufferedBodyTotal == 0)
        #expect(client.responses[1]?.closedWith == 0)
    }

    @Test func manyConcurrentStreamsInterleaved() throws {
        let (client, codec) = try connected()
        let ids = (0..<50).map { client.request(path: "/item/\($0)") }
        try pump(client, codec)
        let events = takeEvents(codec)
        #expect(events.filter { $0.hasPrefix("request") }.count == 50)
        #expect(codec.openStreamCount == 50)
        // Answer in reverse order, each body in two pieces, the pieces of all streams interleaved.
        for id in ids.reversed() { try codec.respond(id, 200, [("x-stream", "\(id)")], endStream: false) }
        for id in ids { try codec.appendBody(id, "part1-\(id)|") }
        try pump(client, codec)
        for id in ids.reversed() {
            try codec.appendBody(id, "part2-\(id)")
            try codec.finishBody(stream: id)
        }
        try pump(client, codec)
        for id in ids {
            let response = client.responses[id]
            #expect(response?.status == "200")
            #expect(response?.headers.contains { $0 == ("x-stream", "\(id)") } == true)
            #expect(response.map { text($0.body[...]) } == "part1-\(id)|part2-\(id)")
            #expect(response?.closedWith == 0)
        }
        #expect(takeEvents(codec).count == 50)
        #expect(codec.openStreamCount == 0)
    }

    @Test func interimHeadsGoOutBeforeTheFinalOne() throws {
        let (client, codec) = try connected()
        client.request()
        try pump(client, codec)
        _ = takeEvents(codec)
        try codec.informational(stream: 1, status: 103,
                                headers: H2FieldList([("Link", "</style.css>; rel=preload"), ("Connection", "x")]))
        try pump(client, codec)
        #expect(client.responses[1]?.headers.map { "\($0.0): \($0.1)" } == [":status: 103", "link: </style.css>; rel=preload"])
        #expect(client.responses[1]?.closedWith == nil)
        try codec.respond(1, 200, [("Content-Type", "text/plain")], endStream: true)
        try pump(client, codec)
        // The test client files every HEADERS after the first under `trailers`: here, the final head.
        #expect(client.responses[1]?.trailers.map { "\($0.0): \($0.1)" } == [":status: 200", "content-type: text/plain"])
        #expect(client.responses[1]?.closedWith == 0)
    }

    @Test func interimHeadsAreRefusedWhenTheyCannotBe() throws {
        let (client, codec) = try connected()
        client.request()
        try pump(client, codec)
        #expect(throws: H2Error.invalidArgument) { try codec.informational(stream: 1, status: 101, headers: H2FieldList([])) }
        #expect(throws: H2Error.invalidArgument) { try codec.informational(stream: 1, status: 200, headers: H2FieldList([])) }
        #expect(throws: H2Error.streamClosed) { try codec.informational(stream: 9, status: 103, headers: H2FieldList([])) }
        try codec.respond(1, 200, endStream: false)
        #expect(throws: H2Error.invalidState) { try codec.informational(stream: 1, status: 100, headers: H2FieldList([])) }
    }

    @Test func secondResponseIsRefused() throws {
        let (client, codec) = try connected()
        client.request()
        try pump(client, codec)
        try codec.respond(1, 200, endStream: false)
        #expect(throws: H2Error.invalidState) { try codec.respond(1, 200, endStream: true) }
        #expect(throws: H2Error.streamClosed) { try codec.respond(9, 200, endStream: true) }
        try codec.finishBody(stream: 1)
        #expect(throws: H2Error.invalidState) { try codec.finishBody(stream: 1) }
        #expect(throws: H2Error.invalidState) { try codec.appendBody(1, "after the end") }
    }

    /// The server resets a stream it cannot serve (an upstream failed mid-body).
    @Test func serverReset() throws {
        let (client, codec) = try connected()
        client.request()
        try pump(client, codec)
        _ = takeEvents(codec)
        try codec.respond(1, 200, endStream: false)
        try codec.appendBody(1, "partial")
        #expect(codec.bufferedBodyTotal == 7)
        codec.reset(stream: 1, error: H2ErrorCode.internalError)
        try pump(client, codec)
        #expect(client.responses[1]?.closedWith == H2ErrorCode.internalError)
        #expect(takeEvents(codec) == ["closed 1 2"])
        // What a reset stream still held is no longer waiting for the client.
        #expect(codec.bufferedBodyTotal == 0)
    }
}

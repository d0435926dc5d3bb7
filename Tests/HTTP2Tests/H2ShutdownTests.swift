import CNGHTTP2
import Testing
@testable import HTTP2

/// Graceful GOAWAY: a shutdown notice, then the final GOAWAY with the last stream served;
/// streams up to it finish, later ones are refused, and the connection ends when they are done.
@Suite struct H2ShutdownTests {
    @Test func gracefulGoAwayHonoursLastStreamID() throws {
        let (client, codec) = try connected()
        client.request(path: "/one")
        client.request(path: "/two")
        try pump(client, codec)
        #expect(takeEvents(codec).filter { $0.hasPrefix("request") }.count == 2)

        codec.beginGracefulShutdown()
        codec.goAway(lastStreamID: 3)
        let goAwayBytes = try drain(codec)
        #expect(goAways(in: goAwayBytes).map { "\($0.last) \($0.error)" } == ["2147483647 0", "3 0"])
        // A request the client sent before the GOAWAY reached it: ignored by the server, refused
        // at the client.
        let late = client.request(path: "/three")
        let lateBytes = client.output()
        _ = try lateBytes.withUnsafeBytes { try codec.receive($0) }
        #expect(takeEvents(codec) == [])
        client.feed(goAwayBytes)
        #expect(client.goAways.map { $0.lastStreamID } == [2147483647, 3])
        #expect(client.responses[late]?.closedWith == H2ErrorCode.refusedStream)

        // Streams 1 and 3 finish.
        #expect(codec.wantsRead)
        try codec.respond(1, 200, endStream: false)
        try codec.respond(3, 200, endStream: true)
        try codec.appendBody(1, "done")
        try codec.finishBody(stream: 1)
        try pump(client, codec)
        #expect(client.responses[1]?.body == Array("done".utf8))
        #expect(client.responses[1]?.closedWith == 0)
        #expect(client.responses[3]?.closedWith == 0)
        #expect(takeEvents(codec).sorted() == ["closed 1 0", "closed 3 0"])
        // Nothing left to read or write: the caller closes the socket.
        #expect(!codec.wantsRead && !codec.wantsWrite)
    }

    @Test func goAwayDefaultsToLastProcessedStream() throws {
        let (client, codec) = try connected()
        for _ in 0..<3 { client.request() }
        try pump(client, codec)
        #expect(codec.lastProcessedStreamID == 5)
        codec.goAway()
        #expect(goAways(in: try drain(codec)).map { $0.last } == [5])
    }

    @Test func clientGoAwayIsReported() throws {
        let (client, codec) = try connected()
        client.request()
        try pump(client, codec)
        _ = takeEvents(codec)
        _ = nghttp2_submit_goaway(client.session, 0, 0, H2ErrorCode.noError, nil, 0)
        try pump(client, codec)
        #expect(takeEvents(codec) == ["goaway 0 0"])
    }
}

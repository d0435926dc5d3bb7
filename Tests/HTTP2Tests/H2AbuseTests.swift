import Testing
@testable import HTTP2

/// Broken and hostile peers: protocol errors end the connection with GOAWAY, floods and rapid
/// resets hit the configured limits.
@Suite struct H2AbuseTests {
    /// A PING must be 8 bytes long: FRAME_SIZE_ERROR for the whole connection.
    @Test func malformedFrameIsAConnectionError() throws {
        let codec = try H2ServerCodec()
        let input = preface + frame(type: 0x4) + frame(type: 0x6, [1, 2, 3, 4, 5, 6, 7])
        _ = try input.withUnsafeBytes { try codec.receive($0) }
        let out = try drain(codec)
        #expect(goAways(in: out).map { "\($0.last) \($0.error)" } == ["0 \(H2ErrorCode.frameSizeError)"])
        #expect(takeEvents(codec) == ["connection-error \(H2ErrorCode.frameSizeError)"])
        #expect(!codec.wantsRead && !codec.wantsWrite)
    }

    /// DATA on stream 0 is a PROTOCOL_ERROR; a request already handed over is closed.
    @Test func dataOnStreamZeroAfterARequest() throws {
        let (client, codec) = try connected()
        client.request(method: "POST", body: Array("abc".utf8), finished: false)
        try pump(client, codec)
        #expect(takeEvents(codec).count == 2)
        let bad = frame(type: 0x0, stream: 0, [1, 2, 3])
        _ = try bad.withUnsafeBytes { try codec.receive($0) }
        let out = try drain(codec)
        #expect(goAways(in: out).map { "\($0.last) \($0.error)" } == ["1 \(H2ErrorCode.protocolError)"])
        #expect(takeEvents(codec) == ["connection-error 1"])
    }

    @Test func badPrefaceFails() throws {
        let codec = try H2ServerCodec()
        let input = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        #expect(throws: H2Error.badClientMagic) { _ = try input.withUnsafeBytes { try codec.receive($0) } }
    }

    /// CVE-2023-44487: HEADERS then RST_STREAM, over and over. Past the bucket's burst the
    /// server sends GOAWAY (nghttp2 uses INTERNAL_ERROR) and serves nothing more.
    @Test func rapidResetHitsTheLimit() throws {
        var settings = H2Settings()
        settings.resetBurst = 10
        settings.resetRate = 1
        let (client, codec) = try connected(settings)
        // Each HEADERS goes out before its RST_STREAM (nghttp2 would drop a pair still queued).
        var events: [String] = []
        for _ in 0..<40 where client.goAways.isEmpty {
            let id = client.request()
            try pump(client, codec)
            client.reset(stream: id)
            try pump(client, codec)
            events += takeEvents(codec)
        }
        #expect(client.goAways.count == 1)
        #expect(client.goAways.first?.error == H2ErrorCode.internalError)
        #expect(events.contains("connection-error \(H2ErrorCode.internalError)"))
        // Ten tokens, then the eleventh reset empties the bucket (a twelfth if a second ticked by).
        #expect((11...12).contains(events.filter { $0.hasPrefix("reset") }.count))
    }

    /// SETTINGS_MAX_CONCURRENT_STREAMS: a client that opens more before it read the server's
    /// SETTINGS gets the extra stream refused (REFUSED_STREAM, safe to retry).
    @Test func streamsBeyondTheLimitAreRefused() throws {
        var settings = H2Settings()
        settings.maxConcurrentStreams = 2
        let codec = try H2ServerCodec(settings: settings)
        let client = TestClient()
        for _ in 0..<3 { client.request() }
        try pump(client, codec)
        #expect(takeEvents(codec).filter { $0.hasPrefix("request") } == [
            "request 1 GET https example.test / [] end", "request 3 GET https example.test / [] end",
        ])
        #expect(client.responses[5]?.closedWith == H2ErrorCode.refusedStream)
    }

    /// PING (and SETTINGS) floods: acknowledgements pile up while the peer never reads;
    /// past maxOutboundAcks the receive fails and the connection must close.
    @Test func pingFloodFails() throws {
        var settings = H2Settings()
        settings.maxOutboundAcks = 20
        let codec = try H2ServerCodec(settings: settings)
        var input = preface + frame(type: 0x4)
        for i in 0..<100 { input += frame(type: 0x6, [UInt8](repeating: UInt8(i), count: 8)) }
        #expect(throws: H2Error.flooded) { _ = try input.withUnsafeBytes { try codec.receive($0) } }
        #expect(takeEvents(codec).first?.hasPrefix("connection-error") == true)
    }

    /// Too many entries in one SETTINGS frame.
    @Test func settingsWithTooManyEntries() throws {
        var settings = H2Settings()
        settings.maxSettingsEntries = 4
        let codec = try H2ServerCodec(settings: settings)
        var payload: [UInt8] = []
        for _ in 0..<5 { payload += [0x00, 0x03, 0, 0, 0, 10] }  // MAX_CONCURRENT_STREAMS = 10
        let input = preface + frame(type: 0x4, payload)
        _ = try? input.withUnsafeBytes { try codec.receive($0) }
        let out = try drain(codec)
        #expect(goAways(in: out).count == 1)
        #expect(takeEvents(codec).contains { $0.hasPrefix("connection-error") })
    }

    /// CVE-2024-28182: one HEADERS followed by more CONTINUATION frames than allowed ends the
    /// connection before the header block is ever complete; within the limit, the same request
    /// goes through.
    @Test(arguments: [8, 100])
    func continuationFloodIsCut(limit: Int) throws {
        var settings = H2Settings()
        settings.maxContinuations = limit
        let codec = try H2ServerCodec(settings: settings)
        // GET https / then a literal field whose value is spread over 20 CONTINUATION frames.
        let value = [UInt8](repeating: UInt8(ascii: "v"), count: 100)
        let block: [UInt8] = [0x82, 0x87, 0x84, 0x01, 12] + Array("example.test".utf8) + [0x00, 5] + Array("x-big".utf8) + [100] + value
        var input = preface + frame(type: 0x4) + frame(type: 0x1, flags: 0x1, stream: 1, Array(block[0..<24]))
        var offset = 24
        while offset < block.count {
            let end = min(offset + 5, block.count)
            input += frame(type: 0x9, flags: end == block.count ? 0x4 : 0, stream: 1, Array(block[offset..<end]))
            offset = end
        }
        var thrown: H2Error?
        do { _ = try input.withUnsafeBytes { try codec.receive($0) } } catch let error as H2Error { thrown = error }
        let out = try drain(codec)
        let events = takeEvents(codec)
        if limit == 8 {
            #expect(thrown != nil || goAways(in: out).count == 1)
            #expect(events.allSatisfy { !$0.hasPrefix("request") })
        } else {
            #expect(thrown == nil)
            #expect(events == ["request 1 GET https example.test / [x-big: \(String(repeating: "v", count: 100))] end", "end 1"])
        }
    }
}

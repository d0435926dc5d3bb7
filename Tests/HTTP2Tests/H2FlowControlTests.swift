import Testing
@testable import HTTP2

/// Request bodies under the caller's flow control: the client sends no more than the window
/// until the caller reports bytes forwarded; a stream that ends early gives its window back.
@Suite struct H2FlowControlTests {
    @Test func postBodyWaitsForConsumed() throws {
        var settings = H2Settings()
        settings.initialWindowSize = 10_000
        let (client, codec) = try connected(settings)
        let body = (0..<25_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let id = client.request(method: "POST", path: "/upload", body: body, chunk: 3_000)
        try pump(client, codec)

        var received: [UInt8] = []
        func collect() -> [String] {
            var others: [String] = []
            for event in codec.events {
                if case .data(let stream, let range) = event, stream == id { received += codec.inbound.bytes[range] }
                else if case .request = event { others.append("request") }
                else if case .requestEnd(let s) = event { others.append("end \(s)") }
            }
            codec.clearEvents()
            return others
        }
        #expect(collect() == ["request"])
        // Exactly the stream window arrived (in 3,000-byte DATA frames), and no more follows.
        #expect(received.count == 10_000)
        #expect(client.sendWindow(stream: id) == 0)
        try pump(client, codec)
        #expect(collect() == [] && received.count == 10_000)

        // Forwarding half the window lets the client send that much more.
        codec.consumed(stream: id, bytes: 5_000)
        try pump(client, codec)
        #expect(collect() == [])
        #expect(received.count == 15_000)

        codec.consumed(stream: id, bytes: 10_000)
        try pump(client, codec)
        #expect(collect() == ["end 1"])
        #expect(received == body)
    }

    /// Another stream is not held up by one whose caller forwards nothing.
    @Test func slowStreamDoesNotHoldOthers() throws {
        var settings = H2Settings()
        settings.initialWindowSize = 4_000
        let (client, codec) = try connected(settings)
        let slow = client.request(method: "POST", body: [UInt8](repeating: 1, count: 20_000))
        let fast = client.request(method: "POST", body: [UInt8](repeating: 2, count: 12_000))
        var total: [Int32: Int] = [:]
        for _ in 0..<10 {
            try pump(client, codec)
            for event in codec.events { if case .data(let s, let r) = event { total[s, default: 0] += r.count } }
            codec.clearEvents()
            codec.consumed(stream: fast, bytes: total[fast] ?? 0)
        }
        #expect(total[slow] == 4_000)
        #expect(total[fast] == 12_000)
    }

    /// Body bytes delivered but never reported forwarded return to the connection window when
    /// the stream closes (here reset by the client): with a connection window of 65,535 and
    /// 40,000 bytes stranded on stream 1, stream 3 still gets a full 60,000.
    @Test func resetStreamGivesConnectionWindowBack() throws {
        var settings = H2Settings()
        settings.initialWindowSize = 65_535
        settings.connectionWindowSize = 65_535
        let (client, codec) = try connected(settings)
        let first = client.request(method: "POST", body: [UInt8](repeating: 1, count: 40_000), finished: false)
        try pump(client, codec)
        client.reset(stream: first)
        try pump(client, codec)
        let events = takeEvents(codec)
        #expect(events.suffix(2) == ["reset 1 8", "closed 1 8"])
        #expect(throws: H2Error.streamClosed) { try codec.respond(first, 200, endStream: true) }

        let second = client.request(method: "POST", body: [UInt8](repeating: 3, count: 60_000))
        var got = 0
        for _ in 0..<4 {
            try pump(client, codec)
            for event in codec.events { if case .data(let s, let r) = event, s == second { got += r.count } }
            codec.clearEvents()
            codec.consumed(stream: second, bytes: got)
        }
        #expect(got == 60_000)
    }

    /// Padding counts against the window but is not body: the codec's caller never reports it,
    /// so nghttp2 must give it back by itself, or a padded upload would stall.
    @Test func paddingDoesNotLeakWindow() throws {
        var settings = H2Settings()
        settings.initialWindowSize = 1_000
        let (client, codec) = try connected(settings)
        client.padding = 200
        let body = [UInt8](repeating: 7, count: 5_000)
        let id = client.request(method: "POST", body: body, chunk: 100)
        let first = client.output()
        #expect(frames(first).contains { $0.type == 0x0 && $0.flags & 0x8 != 0 })  // PADDED DATA
        _ = try first.withUnsafeBytes { try codec.receive($0) }
        var got = 0
        for _ in 0..<100 {
            try pump(client, codec)
            var delivered = 0
            for event in codec.events { if case .data(let s, let r) = event, s == id { delivered += r.count } }
            codec.clearEvents()
            got += delivered
            codec.consumed(stream: id, bytes: delivered)
            if got == body.count { break }
        }
        #expect(got == body.count)
    }
}

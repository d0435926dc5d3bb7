import Foundation
import Testing

/// Scenarios 4 and 6: bodies in both directions, in every framing, arrive intact; messages
/// without a body have none. (The 50 MB transfers are in `StreamingTests`.)
@Suite struct BodyTests {
    /// Bytes that show any loss, duplication or reordering: a pseudo-random sequence.
    static func payload(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> Data {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(bytes)
    }

    /// The body `/big?bytes=N` sends: byte i is i % 251.
    static func bigBody(_ count: Int) -> Data {
        Data((0..<count).map { UInt8($0 % 251) })
    }

    @Test func chunkedUploadIsForwardedChunkedAndEchoedIntact() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let input = bed.directory.appendingPathComponent("upload.bin")
        let output = bed.directory.appendingPathComponent("echoed.bin")
        let sent = Self.payload(300_000)
        try sent.write(to: input)

        let result = try await bed.curl([
            "http://127.0.0.1:\(proxy.port)/echo", "-H", "Transfer-Encoding: chunked", "-H", "Expect:",
            "--data-binary", "@\(input.path)", "-o", output.path, "-w", "%{http_code} %header{x-request-framing}",
        ])

        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.text == "200 chunked")
        #expect(try Data(contentsOf: output) == sent)
    }

    @Test func chunkedDownloadKeepsItsFramingAndContent() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])

        let client = try RawClient(port: proxy.port)
        try client.send("GET /chunked?n=40&size=1000 HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try await client.readResponse()
        // The connection stays usable: the chunked body ended exactly where the framing said.
        try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let next = try await client.readResponse()

        let expected = (0..<40).flatMap { Array(repeating: UInt8(97 + $0 % 26), count: 1000) }
        #expect(response.status == 200)
        #expect(response.header("Transfer-Encoding")?.lowercased() == "chunked")
        #expect(response.header("Content-Length") == nil)
        #expect(response.body == expected)
        #expect(next.status == 200 && next.bodyText == "blue")
    }

    @Test func largeDownloadArrivesByteExact() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let output = bed.directory.appendingPathComponent("big.bin")
        let size = 3_000_000

        let result = try await bed.curl(["http://127.0.0.1:\(proxy.port)/big?bytes=\(size)", "-o", output.path,
                                         "-w", "%{http_code}"])

        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.text == "200")
        #expect(try Data(contentsOf: output) == Self.bigBody(size))
    }

    @Test func headNoContentAndNotModifiedCarryNoBody() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let client = try RawClient(port: proxy.port)

        // All on one connection: a stray body byte after any of them would corrupt the next answer.
        try client.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try await client.readResponse(toHEAD: true)
        try client.send("GET /status?code=204 HTTP/1.1\r\nHost: x\r\n\r\n")
        let noContent = try await client.readResponse()
        try client.send("GET /status?code=304 HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"v1\"\r\n\r\n")
        let notModified = try await client.readResponse()
        try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let last = try await client.readResponse()

        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "4")
        #expect(noContent.status == 204)
        #expect(notModified.status == 304)
        #expect(notModified.header("ETag") == "\"v1\"")
        #expect(last.status == 200)
        #expect(last.bodyText == "blue")
        #expect(client.buffer.isEmpty)
    }

    @Test func expectContinueIsRelayedBeforeTheBodyIsSent() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let client = try RawClient(port: proxy.port)

        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        let interim = try await client.readResponse()
        try client.send("hello world")
        let final = try await client.readResponse()

        #expect(interim.status == 100)
        #expect(final.status == 200)
        #expect(final.bodyText == "hello world")
    }

    @Test func curlUploadWithExpectContinueSucceeds() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let input = bed.directory.appendingPathComponent("upload.bin")
        let output = bed.directory.appendingPathComponent("echoed.bin")
        let sent = Self.payload(200_000)
        try sent.write(to: input)

        let result = try await bed.curl([
            "-v", "http://127.0.0.1:\(proxy.port)/echo", "-H", "Expect: 100-continue",
            "--data-binary", "@\(input.path)", "-o", output.path, "-w", "%{http_code}",
        ])

        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.text == "200")
        #expect(result.stderr.contains("< HTTP/1.1 100 Continue"), "\(result.stderr)")
        #expect(try Data(contentsOf: output) == sent)
    }
}

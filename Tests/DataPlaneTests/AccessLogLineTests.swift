@testable import DataPlane
import EventLoop
import Foundation
import Testing

/// The access log's JSON line, formatted without Foundation on the data plane, checked here by
/// Foundation's own JSON parser and date formatter.
@Suite struct AccessLogLineTests {
    /// Runs `body` with a writer over a fresh buffer of `size` bytes; returns what it wrote.
    private func written(size: Int = 4096, _ body: (inout JSONLineWriter) -> Void) -> (text: [UInt8], overflowed: Bool) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 1)
        defer { buffer.deallocate() }
        var writer = JSONLineWriter(buffer)
        body(&writer)
        return (Array(writer.bytes), writer.overflowed)
    }

    /// The JSON string literal for `input`, and what a JSON parser reads back from it.
    private func jsonString(_ input: [UInt8]) throws -> (literal: String, decoded: String) {
        let out = written { w in input.withUnsafeBytes { w.string($0) } }
        let literal = String(decoding: out.text, as: UTF8.self)
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(out.text), options: .fragmentsAllowed) as? String)
        return (literal, decoded)
    }

    @Test func quotesBackslashesAndControlBytesAreEscaped() throws {
        let (literal, decoded) = try jsonString(Array("a\"b\\c\u{0}d\ne\u{1F}f\u{7F}g/h".utf8))
        #expect(literal == #""a\"b\\c\u0000d\u000ae\u001ff\u007fg/h""#)
        #expect(decoded == "a\"b\\c\u{0}d\ne\u{1F}f\u{7F}g/h")
    }

    @Test func wellFormedUTF8IsKeptAsItIs() throws {
        let text = "/caf\u{E9}/\u{20AC}/\u{1F600}"
        let (literal, decoded) = try jsonString(Array(text.utf8))
        #expect(literal == "\"\(text)\"")
        #expect(decoded == text)
    }

    @Test(arguments: [
        ([0xFF], #""\u00ff""#),                                  // never valid in UTF-8
        ([0xC3], #""\u00c3""#),                                  // a lead byte cut off
        ([0xE2, 0x82, 0x41], #""\u00e2\u0082A""#),               // a sequence cut short
        ([0xC0, 0xAF], #""\u00c0\u00af""#),                      // overlong '/'
        ([0xED, 0xA0, 0x80], #""\u00ed\u00a0\u0080""#),          // a UTF-16 surrogate
        ([0xF4, 0x90, 0x80, 0x80], #""\u00f4\u0090\u0080\u0080""#),  // above U+10FFFF
        ([0x80, 0x41], #""\u0080A""#),                           // a lone continuation byte
    ] as [([UInt8], String)])
    func bytesThatAreNotUTF8AreEscapedOneByOne(_ input: [UInt8], _ expected: String) throws {
        let (literal, decoded) = try jsonString(input)
        #expect(literal == expected)
        // Each byte reads back as the code point of the same number: lossless for a reader who knows.
        let points = decoded.unicodeScalars.map { UInt8($0.value & 0xFF) }
        #expect(points == input)
    }

    @Test(arguments: ["0.0.0.0", "255.255.255.255", "10.0.100.9", "192.168.1.10", "127.0.0.1", "::1", "2001:db8::42"])
    func clientHostsAreWrittenAsInetNtopWould(_ host: String) throws {
        let address = try #require(SocketAddress.resolve(host: host, port: 1))
        let text = written { w in w.host(address) }
        #expect(String(decoding: text.text, as: UTF8.self) == address.ipString)
        #expect(address.ipString == host)
    }

    @Test func integersAndSeconds() {
        let text = written { w in
            for value: UInt64 in [0, 9, 10, 1234567, .max] {
                w.integer(value)
                w.raw(" ")
            }
            for ns: UInt64 in [0, 499, 500, 412_000, 12_500_000_000, 999_999_999] {
                w.seconds(nanoseconds: ns)
                w.raw(" ")
            }
        }
        #expect(String(decoding: text.text, as: UTF8.self)
            == "0 9 10 1234567 18446744073709551615 0.000000 0.000000 0.000001 0.000412 12.500000 1.000000 ")
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_700_000_000_123_456_789, "2023-11-14T22:13:20.123Z"),
        (951_782_400_000_000_000, "2000-02-29T00:00:00.000Z"),
        (1_709_251_199_999_000_000, "2024-02-29T23:59:59.999Z"),
        (4_107_542_400_000_000_000, "2100-03-01T00:00:00.000Z"),
    ])
    func wallClockIsRFC3339UTCWithMilliseconds(_ nanoseconds: Int64, _ expected: String) {
        var clock = WallClockText()
        let text = written { w in w.reserve(exactly: WallClockText.length) { clock.write(nanoseconds: nanoseconds, into: $0) } }
        #expect(String(decoding: text.text, as: UTF8.self) == expected)
    }

    /// Against Foundation over many instants, with the per-second cache in play (the same clock
    /// formats them all, in order, some within one second, over two centuries).
    @Test func wallClockAgreesWithFoundation() {
        var clock = WallClockText()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        var instant: Int64 = 0
        var mismatches: [String] = []
        for _ in 0..<5000 {
            // Half the steps stay within a second or so (the cache), half jump weeks (the calendar).
            instant += Bool.random(using: &generator)
                ? Int64.random(in: 0...400_000_000, using: &generator)
                : Int64.random(in: 0...3_000_000_000_000_000, using: &generator)
            let ours = String(decoding: written { w in
                w.reserve(exactly: WallClockText.length) { clock.write(nanoseconds: instant, into: $0) }
            }.text, as: UTF8.self)
            let millis = instant / 1_000_000
            let theirs = formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
            if ours != theirs { mismatches.append("\(instant): \(ours) vs \(theirs)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func aWholeLineParsesAsJSONWithEveryField() throws {
        let client = try #require(SocketAddress.resolve(host: "127.0.0.1", port: 50432))
        let method = Array("GET".utf8)
        let target = Array("/a?b=\"c\"".utf8)
        let text = method.withUnsafeBytes { m in
            target.withUnsafeBytes { t in
                written { w in
                    var clock = WallClockText()
                    AccessLogEntry(wallStart: 1_700_000_000_123_000_000, client: client, method: m, target: t, status: 200,
                                   bytesIn: 78, bytesOut: 162, duration: 412_000, upstreamDuration: 301_000,
                                   route: "app", pool: "blue", backend: "127.0.0.1:9001", generation: 3)
                        .write(into: &w, clock: &clock)
                }.text
            }
        }
        #expect(text.last == 0x0A)
        #expect(text.dropLast().contains(0x0A) == false)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text)) as? [String: Any])
        #expect(json["time"] as? String == "2023-11-14T22:13:20.123Z")
        #expect(json["client"] as? String == "127.0.0.1")
        #expect(json["client_port"] as? Int == 50432)
        #expect(json["method"] as? String == "GET")
        #expect(json["target"] as? String == "/a?b=\"c\"")
        #expect(json["status"] as? Int == 200)
        #expect(json["bytes_in"] as? Int == 78)
        #expect(json["bytes_out"] as? Int == 162)
        #expect(json["duration"] as? Double == 0.000412)
        #expect(json["upstream_duration"] as? Double == 0.000301)
        #expect(json["route"] as? String == "app")
        #expect(json["pool"] as? String == "blue")
        #expect(json["backend"] as? String == "127.0.0.1:9001")
        #expect(json["generation"] as? Int == 3)
        #expect(json["protocol"] as? String == "HTTP/1.1")
        #expect(json.count == 15)
    }

    @Test func unknownValuesAreNullAndIPv6IsPlain() throws {
        let client = try #require(SocketAddress.resolve(host: "::1", port: 8080))
        let text = written { w in
            var clock = WallClockText()
            AccessLogEntry(wallStart: 0, client: client, method: UnsafeRawBufferPointer(start: nil, count: 0),
                           target: UnsafeRawBufferPointer(start: nil, count: 0), status: 400, bytesIn: 10, bytesOut: 90,
                           duration: 1000, upstreamDuration: nil, route: nil, pool: nil, backend: nil, generation: 1)
                .write(into: &w, clock: &clock)
        }.text
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text)) as? [String: Any])
        #expect(json["client"] as? String == "::1")
        #expect(json["method"] as? String == "")
        #expect(json["upstream_duration"] is NSNull)
        #expect(json["route"] is NSNull && json["pool"] is NSNull && json["backend"] is NSNull)
    }

    @Test func aLineThatDoesNotFitOverflowsInsteadOfWritingPastTheBuffer() {
        let long = [UInt8](repeating: 0x01, count: 100)
        let out = written(size: 64) { w in long.withUnsafeBytes { w.string($0) } }
        #expect(out.overflowed)
        #expect(out.text.isEmpty)
    }

    /// Fuzz (Fuzz/regressions/access-log/seconds-overflow): durations within 500 ns of 2^64 trapped.
    @Test func secondsNearTheTopOfUInt64DoNotTrap() {
        let out = written { $0.seconds(nanoseconds: .max) }
        #expect(String(decoding: out.text, as: UTF8.self) == "18446744073.709552")
    }
}

import EventLoop
import Glibc
import Testing
@testable import AccessLogWriter

/// The writer thread's drain: every ring's lines, oldest first, in one write; lines counted; a
/// descriptor that refuses the write loses the lines (counted) instead of keeping them for ever.
@Suite struct AccessLogDrainTests {
    private func put(_ ring: ByteRing, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { ring.write($0) }
    }

    @Test func everyRingIsWrittenOutInOrderAndItsLinesCounted() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let rings = [ByteRing(capacity: 64), ByteRing(capacity: 64)]
        // The first ring's lines wrap around the end of its storage.
        put(rings[0], String(repeating: "x", count: 49) + "\n")
        rings[0].consume(50)
        put(rings[0], "a1\na2\n" + String(repeating: "y", count: 20) + "\n")
        put(rings[1], "b1\n")

        let outcome = AccessLogDrain.drain(rings, to: fds[1])
        #expect(outcome.lines == 4 && outcome.lost == 0 && outcome.error == nil)
        #expect(rings.allSatisfy { $0.used == 0 })
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        #expect(String(decoding: buffer[0..<max(0, n)], as: UTF8.self) == "a1\na2\n" + String(repeating: "y", count: 20) + "\nb1\n")
    }

    @Test func aDescriptorThatRefusesTheWriteLosesTheLinesAndSaysWhy() throws {
        let readOnly = open("/dev/null", O_RDONLY)
        try #require(readOnly >= 0)
        defer { close(readOnly) }
        let ring = ByteRing(capacity: 64)
        put(ring, "l1\nl2\nl3\n")
        let outcome = AccessLogDrain.drain([ring], to: readOnly)
        #expect(outcome.lines == 0 && outcome.lost == 3 && outcome.error == EBADF)
        #expect(ring.used == 0)
    }
}

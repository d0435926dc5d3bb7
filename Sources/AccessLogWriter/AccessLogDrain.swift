import EventLoop
import Glibc

/// Moves what the rings of one output hold to its descriptor: one writev(2) for all of them, so
/// the file sees large writes, whatever the request rate. Only ever run by the writer thread,
/// the rings' one consumer. Lines stay whole: each ring holds whole lines, and a short write
/// continues where it stopped.
enum AccessLogDrain {
    struct Outcome {
        var lines: UInt64 = 0
        /// Lines given up because the descriptor refused them (a full disk, a closed pipe).
        var lost: UInt64 = 0
        var error: Int32?
    }

    /// IOV_MAX on Linux; more spans (over 512 workers) go out in the next round.
    static let maxVectors = 1024

    static func drain(_ rings: [ByteRing], to fd: Int32) -> Outcome {
        var outcome = Outcome()
        // A few rounds take in what arrived during the previous write; a busy producer cannot
        // keep the writer here for ever.
        for _ in 0..<4 {
            var spans: [(ring: Int, bytes: UnsafeRawBufferPointer)] = []
            for (i, ring) in rings.enumerated() {
                let (a, b) = ring.readable()
                if !a.isEmpty { spans.append((i, a)) }
                if !b.isEmpty { spans.append((i, b)) }
            }
            guard !spans.isEmpty else { return outcome }
            var vectors = spans.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.bytes.baseAddress), iov_len: $0.bytes.count) }
            let total = spans.reduce(0) { $0 + $1.bytes.count }
            var written = -1
            while written < 0 {
                written = writev(fd, &vectors, Int32(min(vectors.count, maxVectors)))
                if written < 0 && errno != EINTR { break }
            }
            if written < 0 {
                let code = errno
                // A descriptor that would block (a non-blocking stdout) is tried again next round.
                if code == EAGAIN || code == EWOULDBLOCK { return outcome }
                for span in spans {
                    outcome.lost &+= newlines(span.bytes)
                    rings[span.ring].consume(span.bytes.count)
                }
                outcome.error = code
                return outcome
            }
            var left = written
            for span in spans where left > 0 {
                let n = min(left, span.bytes.count)
                outcome.lines &+= newlines(UnsafeRawBufferPointer(rebasing: span.bytes[0..<n]))
                rings[span.ring].consume(n)
                left -= n
            }
            if written < total && written == 0 { return outcome }
        }
        return outcome
    }

    static func newlines(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var count: UInt64 = 0
        for byte in bytes where byte == 0x0A { count &+= 1 }
        return count
    }
}

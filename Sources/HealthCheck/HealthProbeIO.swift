import EventLoop
import HTTP1

/// What every probe of one checker shares, so a probe allocates nothing of its own: the pool its
/// buffers (and its TLS channel's) come from and go back to, and a parsed response head (whose
/// field array keeps its capacity). Confined to the checker thread, like the probes; it outlives
/// them (the loop closes every probe before it goes).
final class HealthProbeIO {
    /// 16 KiB blocks: a TLS channel encrypts into room for one whole record. A probe holds a
    /// block only while it has bytes in it (its request until sent, its answer until judged), so
    /// a few dozen idle blocks cover the probes of a busy checker.
    let pool = BufferPool(blockSize: 16384, maxFree: 64)
    private var head = ResponseHead()
    /// A backend's health page has no business sending a long head: past this the probe fails.
    private let limits = ParseLimits(maxHeaderBytes: 16384, maxTargetBytes: 0, maxFields: 100)

    /// Judges the bytes received so far: `.pending` until a final (non-1xx) head is complete,
    /// then `.passed` or `.failed` by its status (a 101 counts as final, never as interim).
    /// Interim 1xx heads are consumed from `received`.
    func judge(_ received: inout ByteBuffer, request: HealthRequest) -> HealthProbe.Outcome {
        while true {
            let result: HeadParseResult
            do {
                result = try parseResponseHead(received.readable, requestWasHEAD: false, limits: limits, into: &head)
            } catch {
                return .failed
            }
            guard result == .complete else { return .pending }
            guard head.isInformational, head.status != 101 else {
                return request.accepts(status: head.status) ? .passed : .failed
            }
            received.consume(head.headLength)
        }
    }
}

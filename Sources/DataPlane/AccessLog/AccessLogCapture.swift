import EventLoop

/// The method and target of the request an exchange is answering, copied when its head is parsed:
/// the head's bytes leave the client buffer as the exchange starts, and a pipelined request may
/// take their place. Only while the access log is on; the block comes from the worker's buffer
/// pool and goes back when the line is written, so a keep-alive exchange allocates nothing.
struct AccessLogCapture: ~Copyable {
    /// Longer methods and targets are cut in the log (the parser refuses targets over 8 KiB).
    static let maxMethod = 64
    static let maxTarget = 8192

    private var bytes: ByteBuffer
    private var methodLength = 0

    init(pool: BufferPool) {
        bytes = ByteBuffer(pool: pool)
    }

    /// From a parsed head: `method` and `target` are ranges of `source`.
    mutating func capture(_ source: UnsafeRawBufferPointer, method: Range<Int>, target: Range<Int>) {
        bytes.clear()
        let m = method.lowerBound..<min(method.upperBound, method.lowerBound + AccessLogCapture.maxMethod)
        let t = target.lowerBound..<min(target.upperBound, target.lowerBound + AccessLogCapture.maxTarget)
        bytes.append(UnsafeRawBufferPointer(rebasing: source[m]))
        bytes.append(UnsafeRawBufferPointer(rebasing: source[t]))
        methodLength = m.count
    }

    /// From bytes that did not parse (a 400, a 408 for a head that never ended): the first line
    /// read leniently — the method up to the first space, the target up to the next one, or to the
    /// end of the line — so the log shows what the client sent.
    mutating func captureLeniently(_ source: UnsafeRawBufferPointer) {
        var lineEnd = 0
        while lineEnd < source.count && source[lineEnd] != 0x0D && source[lineEnd] != 0x0A { lineEnd += 1 }
        var methodEnd = 0
        while methodEnd < lineEnd && source[methodEnd] != 0x20 { methodEnd += 1 }
        let targetStart = min(methodEnd + 1, lineEnd)
        var targetEnd = targetStart
        while targetEnd < lineEnd && source[targetEnd] != 0x20 { targetEnd += 1 }
        capture(source, method: 0..<methodEnd, target: targetStart..<targetEnd)
    }

    var method: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes.readable[0..<methodLength]) }
    var target: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes.readable[methodLength...]) }

    /// Gives the block back to the pool (after the line is written).
    mutating func clear() {
        bytes.clear()
        bytes.releaseIfEmpty()
        methodLength = 0
    }
}

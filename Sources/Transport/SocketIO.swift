import EventLoop

/// What one read attempt on a non-blocking socket gave.
@usableFromInline package enum ReadOutcome {
    case data
    case endOfStream
    case nothing
    case failed
}

/// Reads once from `fd` into `buffer`. Edge-triggered epoll reports a descriptor once per change,
/// so `readable` is kept until the kernel says EAGAIN, or until a read returned less than it asked
/// for, which means the socket was drained (unless a hang-up was seen: then read on to the EOF).
/// `limit` caps one read (a body's remaining length), so it never takes bytes beyond it.
@inlinable
package func readOnce(_ fd: Int32, into buffer: inout ByteBuffer, readable: inout Bool, sawHangup: Bool,
              minimum: Int = 4096, limit: Int = .max) -> ReadOutcome {
    guard readable else { return .nothing }
    let whole = buffer.writableSpace(minimum: minimum)
    let space = whole.count > limit ? UnsafeMutableRawBufferPointer(rebasing: whole[0..<limit]) : whole
    do {
        switch try Socket.read(fd, into: space) {
        case .wouldBlock:
            readable = false
            return .nothing
        case .processed(0):
            readable = false
            return .endOfStream
        case .processed(let n):
            buffer.didWrite(n)
            if n < space.count && !sawHangup { readable = false }
            return .data
        }
    } catch {
        readable = false
        return .failed
    }
}

/// What one write attempt gave.
@usableFromInline package enum WriteOutcome {
    case wrote
    case nothing
    case failed
}

/// Writes as much of `buffer` as the socket takes. After a partial write the flag stays set, so
/// the next attempt learns EAGAIN for certain before the loop waits for EPOLLOUT.
@inlinable
package func writeOnce(_ fd: Int32, from buffer: inout ByteBuffer, writable: inout Bool) -> WriteOutcome {
    guard writable, !buffer.isEmpty else { return .nothing }
    do {
        switch try Socket.write(fd, from: buffer.readable) {
        case .wouldBlock:
            writable = false
            return .nothing
        case .processed(let n):
            buffer.consume(n)
            return .wrote
        }
    } catch {
        writable = false
        return .failed
    }
}

import EventLoop
import TLS

/// What one handshake attempt came to.
package enum HandshakeOutcome {
    case done
    /// Waiting for the peer (its bytes) or for the socket (room to send).
    case pending
    case failed
}

/// A TLS connection on a non-blocking socket: `ByteStream` calls through it
/// instead of `readOnce`/`writeOnce` when the side speaks TLS. It keeps the same contracts:
/// `readable`/`writable` are the socket's edge-triggered flags, `.nothing` means "wait for an
/// event". Because a read may leave ciphertext or plaintext buffered here after the socket is
/// drained, every read first decrypts what is buffered and only then reads the socket, so a
/// caller that calls again finds that data without a new wake-up.
///
/// Syscalls: one read() of ciphertext per socket read (into `cipherIn`, a pooled block), then TLS
/// decrypts until that is used; writes encrypt a record into `cipherOut` and send it in one
/// write(). Both buffers are released whenever they are empty, so an idle connection holds only
/// OpenSSL's own state (which drops its record buffers too: SSL_MODE_RELEASE_BUFFERS).
@usableFromInline package final class SecureChannel {
    package let tls: TLSConnection
    /// Ciphertext read from the socket that TLS has not taken yet.
    private var cipherIn: ByteBuffer
    /// Ciphertext TLS gave that the socket has not taken yet.
    private var cipherOut: ByteBuffer
    @usableFromInline package private(set) var established = false
    private var closeNotifyQueued = false
    /// The last read found buffered ciphertext that TLS cannot use before more arrives (a partial
    /// record) and the socket empty: only a new readability event can change that.
    private var stalled = false

    /// Room that always holds one whole record (16 KiB of plaintext max, encrypted): a write
    /// encrypts at most this much minus the record overhead, so a record is never split.
    private static let recordRoom = 16384
    private static let recordOverhead = 64

    package init(_ tls: TLSConnection, pool: BufferPool) {
        self.tls = tls
        cipherIn = ByteBuffer(pool: pool)
        cipherOut = ByteBuffer(pool: pool)
    }

    /// Input is held here (ciphertext or plaintext), usable or not.
    package var hasBufferedInput: Bool { !cipherIn.isEmpty || tls.hasBufferedInput }

    /// A read may give plaintext without a new event: what is held here is not just the start
    /// of a record waiting for the rest.
    @usableFromInline package var hasReadableInput: Bool { !stalled && hasBufferedInput }

    /// Ciphertext not yet sent.
    @usableFromInline package var hasPendingOutput: Bool { !cipherOut.isEmpty }

    // MARK: handshake

    /// Advances the handshake as far as the socket allows.
    package func handshake(_ fd: Int32, readable: inout Bool, writable: inout Bool, sawHangup: Bool) -> HandshakeOutcome {
        while true {
            let progress = tls.handshake(input: cipherIn.readable, output: cipherOut.writableSpace(minimum: 4096))
            cipherIn.consume(progress.consumed)
            cipherOut.didWrite(progress.produced)
            switch progress.status {
            case .ok:
                established = true
                cipherIn.releaseIfEmpty()
                return flush(fd, writable: &writable) == .failed ? .failed : .done
            case .wantInput:
                if flush(fd, writable: &writable) == .failed { return .failed }
                switch readOnce(fd, into: &cipherIn, readable: &readable, sawHangup: sawHangup) {
                case .data: continue
                case .nothing:
                    cipherIn.releaseIfEmpty()
                    return .pending
                case .endOfStream, .failed: return .failed
                }
            case .wantOutput:
                if progress.produced == 0 { return .failed }  // room given and none used: never a spin
                if flush(fd, writable: &writable) == .failed { return .failed }
                if hasPendingOutput { return .pending }  // EPOLLOUT brings us back
            case .closed, .failed:
                _ = flush(fd, writable: &writable)  // the alert, if the socket takes it
                return .failed
            }
        }
    }

    // MARK: data

    /// Reads plaintext into `buffer` (at least `minimum` bytes of room, at most `limit` bytes):
    /// decrypts what is buffered first, then reads the socket once more each time TLS needs input.
    @usableFromInline package func read(_ fd: Int32, into buffer: inout ByteBuffer, readable: inout Bool, writable: inout Bool,
              sawHangup: Bool, minimum: Int = 4096, limit: Int = .max) -> ReadOutcome {
        var needsRoom = false
        while true {
            if hasBufferedInput {
                let whole = buffer.writableSpace(minimum: minimum)
                let space = whole.count > limit ? UnsafeMutableRawBufferPointer(rebasing: whole[0..<limit]) : whole
                // Reading rarely produces ciphertext (a key update's answer): room only on demand.
                let room = needsRoom ? cipherOut.writableSpace(minimum: 1024) : UnsafeMutableRawBufferPointer(start: nil, count: 0)
                let progress = tls.read(input: cipherIn.readable, output: room, into: space)
                cipherIn.consume(progress.consumed)
                cipherOut.didWrite(progress.produced)
                if progress.produced > 0 && flush(fd, writable: &writable) == .failed { return .failed }
                switch progress.status {
                case .ok:
                    buffer.didWrite(progress.count)
                    cipherIn.releaseIfEmpty()
                    stalled = false
                    return .data
                case .wantInput:
                    cipherIn.releaseIfEmpty()
                case .wantOutput:
                    needsRoom = true
                    continue
                case .closed:
                    return .endOfStream
                case .failed:
                    return .failed
                }
            }
            switch readOnce(fd, into: &cipherIn, readable: &readable, sawHangup: sawHangup) {
            case .data:
                stalled = false
                continue
            case .nothing:
                cipherIn.releaseIfEmpty()
                stalled = hasBufferedInput
                return .nothing
            case .endOfStream: return .endOfStream
            case .failed: return .failed
            }
        }
    }

    /// Sends what is pending, then encrypts from `buffer` a record at a time and sends each, while
    /// the socket takes them. `.wrote` if plaintext was taken or ciphertext sent.
    @usableFromInline package func write(_ fd: Int32, from buffer: inout ByteBuffer, writable: inout Bool) -> WriteOutcome {
        var progressed = false
        while true {
            if hasPendingOutput {
                switch writeOnce(fd, from: &cipherOut, writable: &writable) {
                case .wrote:
                    progressed = true
                    continue
                case .nothing:
                    return progressed ? .wrote : .nothing
                case .failed:
                    return .failed
                }
            }
            guard writable, !buffer.isEmpty else {
                cipherOut.releaseIfEmpty()
                return progressed ? .wrote : .nothing
            }
            let room = cipherOut.writableSpace(minimum: SecureChannel.recordRoom)
            let plaintext = buffer.readable
            let chunk = min(plaintext.count, room.count - SecureChannel.recordOverhead)
            let progress = tls.write(UnsafeRawBufferPointer(rebasing: plaintext[0..<chunk]), output: room)
            cipherOut.didWrite(progress.produced)
            buffer.consume(progress.count)
            switch progress.status {
            case .ok, .wantOutput:
                if progress.count > 0 { progressed = true }
                // Room for a whole record and still nothing: never expected, but never a spin.
                if progress.count == 0 && progress.produced == 0 { return .failed }
            case .wantInput, .closed, .failed:
                return .failed
            }
        }
    }

    /// Sends the pending ciphertext, as far as the socket takes it.
    package func flush(_ fd: Int32, writable: inout Bool) -> WriteOutcome {
        var progressed = false
        while hasPendingOutput {
            switch writeOnce(fd, from: &cipherOut, writable: &writable) {
            case .wrote: progressed = true
            case .nothing: return progressed ? .wrote : .nothing
            case .failed: return .failed
            }
        }
        cipherOut.releaseIfEmpty()
        return progressed ? .wrote : .nothing
    }

    /// Queues close_notify (once) and sends what the socket takes. True when nothing is left to
    /// send, so the caller may send its FIN; false: call again when the socket is writable.
    package func finishOutput(_ fd: Int32, writable: inout Bool) -> Bool {
        if !closeNotifyQueued && established {
            closeNotifyQueued = true
            let progress = tls.shutdown(output: cipherOut.writableSpace(minimum: 256))
            cipherOut.didWrite(progress.produced)
        }
        switch flush(fd, writable: &writable) {
        case .failed: return true  // the peer is gone: nothing more to wait for
        case .wrote, .nothing: return !hasPendingOutput
        }
    }
}

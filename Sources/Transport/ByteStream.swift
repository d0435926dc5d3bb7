import EventLoop

/// One non-blocking socket as the data plane speaks over it: the descriptor, the readiness that
/// edge-triggered epoll reported, and TLS when the socket speaks it. Client connections, upstream
/// connections, TCP relays and health probes all read, write, handshake and half-close through
/// this one type, so "plain or TLS" is decided here and nowhere else.
///
/// A value type kept inline in its owner: no allocation of its own. The per-request calls are
/// `@inlinable`: they sit on the hot path of another module, and a call across the module
/// boundary per read and write showed in the CPU per request. The flags follow the
/// contracts of `readOnce`/`writeOnce`: set by an event, cleared when the kernel says EAGAIN;
/// `.nothing` from a call means "wait for the next event".
@usableFromInline package struct ByteStream {
    @usableFromInline package let fd: Int32
    @usableFromInline package private(set) var readable = false
    @usableFromInline package private(set) var writable: Bool
    /// The peer hung up (or the socket failed): reads go on until the EOF.
    @usableFromInline package private(set) var sawHangup = false
    /// TLS over the socket, nil for plaintext.
    @usableFromInline package let secure: SecureChannel?

    /// `writable`: a socket whose connect completed (or an accepted one) may be written at once;
    /// one still connecting waits for its first writability event.
    package init(fd: Int32, secure: SecureChannel? = nil, writable: Bool = true) {
        self.fd = fd
        self.secure = secure
        self.writable = writable
    }

    /// Records what epoll reported.
    @inlinable
    package mutating func note(_ events: IOEvents) {
        if events.readable { readable = true }
        if events.readHangup || events.hangup { sawHangup = true }
        if events.writable { writable = true }
    }

    /// The socket may hold input a read has not taken yet (a stop's grace wants one more read).
    package mutating func assumeReadable() { readable = true }

    /// The kernel said EAGAIN to a read made outside this type (splice): wait for an event.
    package mutating func drained() { readable = false }

    /// The kernel said EAGAIN to a write made outside this type (splice): wait for room.
    package mutating func full() { writable = false }

    /// A connection from the idle pool: nothing is known about its socket's send room until a
    /// write says otherwise.
    package mutating func assumeWritable() { writable = true }

    // MARK: data

    /// Reads once into `buffer` (at least `minimum` bytes of room, at most `limit` bytes),
    /// through TLS when the socket speaks it.
    @inlinable
    package mutating func read(into buffer: inout ByteBuffer, minimum: Int = 4096, limit: Int = .max) -> ReadOutcome {
        if let secure {
            return secure.read(fd, into: &buffer, readable: &readable, writable: &writable, sawHangup: sawHangup,
                               minimum: minimum, limit: limit)
        }
        return readOnce(fd, into: &buffer, readable: &readable, sawHangup: sawHangup, minimum: minimum, limit: limit)
    }

    /// Reads the socket's bytes as they are, never through TLS: what a lingering close drops.
    @inline(__always)
    package mutating func readRaw(into buffer: inout ByteBuffer) -> ReadOutcome {
        readOnce(fd, into: &buffer, readable: &readable, sawHangup: sawHangup)
    }

    /// Sends `buffer` as far as the socket takes it (over TLS, ciphertext still pending from
    /// before goes first, even when `buffer` is empty).
    @inlinable
    package mutating func write(from buffer: inout ByteBuffer) -> WriteOutcome {
        if let secure { return secure.write(fd, from: &buffer, writable: &writable) }
        return writeOnce(fd, from: &buffer, writable: &writable)
    }

    /// Half-closes: close_notify first over TLS, then the FIN. True once the FIN is sent; false
    /// while the close_notify waits for room (call again on writability).
    package mutating func finish() -> Bool {
        if let secure, !secure.finishOutput(fd, writable: &writable) { return false }
        Socket.shutdownWrite(fd)
        return true
    }

    /// Sends a close_notify if the socket takes it now, without the FIN (best effort, before a
    /// close).
    package mutating func sendCloseNotify() {
        if let secure { _ = secure.finishOutput(fd, writable: &writable) }
    }

    /// Advances the TLS handshake as far as the socket allows; a plaintext stream is done at once.
    package mutating func handshake() -> HandshakeOutcome {
        guard let secure, !secure.established else { return .done }
        return secure.handshake(fd, readable: &readable, writable: &writable, sawHangup: sawHangup)
    }

    // MARK: state

    /// Past its TLS handshake, or plaintext.
    @inlinable
    package var established: Bool { secure?.established ?? true }

    /// A read may find something: the socket says so, or TLS holds readable input.
    @inlinable
    package var mayRead: Bool { readable || (secure?.hasReadableInput ?? false) }

    /// Ciphertext not yet handed to the kernel.
    @inlinable
    package var hasPendingOutput: Bool { secure?.hasPendingOutput ?? false }

    /// Nothing buffered in TLS either way: the stream can wait idle and be reused.
    package var isQuiet: Bool { !(secure?.hasBufferedInput ?? false) && !hasPendingOutput }
}

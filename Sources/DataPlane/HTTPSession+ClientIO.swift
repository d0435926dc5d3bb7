import EventLoop

/// The client side's socket calls, plain or through TLS. A TLS connection first handshakes
/// (state `.handshaking`, within `client_header` of the accept), then the session runs over it
/// exactly as over a plain socket.
extension HTTPSession {
    @inline(__always)
    func readClient(into buffer: inout ByteBuffer) -> ReadOutcome {
        if let secure {
            return secure.read(fd, into: &buffer, readable: &clientReadable, writable: &clientWritable,
                               sawHangup: clientHangup)
        }
        return readOnce(fd, into: &buffer, readable: &clientReadable, sawHangup: clientHangup)
    }

    /// Sends `buffer` (and, over TLS, ciphertext still pending even when `buffer` is empty).
    @inline(__always)
    func writeClient(from buffer: inout ByteBuffer) -> WriteOutcome {
        if let secure { return secure.write(fd, from: &buffer, writable: &clientWritable) }
        return writeOnce(fd, from: &buffer, writable: &clientWritable)
    }

    /// Bytes for the client not yet handed to the kernel.
    var clientOutputPending: Bool { !clientOut.isEmpty || (secure?.hasPendingOutput ?? false) }

    /// The client may have sent something not read yet: the socket says so, or TLS holds it.
    var clientInputMayWait: Bool { clientReadable || (secure?.hasReadableInput ?? false) }

    /// Half-closes towards the client: close_notify first over TLS, then the FIN. True once the
    /// FIN is sent; false while the close_notify waits for the socket (call again on writability).
    func finishClientOutput() -> Bool {
        if let secure, !secure.finishOutput(fd, writable: &clientWritable) { return false }
        Socket.shutdownWrite(fd)
        return true
    }

    /// The TLS handshake; the head timeout starts afresh once it is done.
    func stepHandshake() -> Bool {
        guard let secure else {
            state = .readingHead
            return true
        }
        switch secure.handshake(fd, readable: &clientReadable, writable: &clientWritable, sawHangup: clientHangup) {
        case .done:
            state = .readingHead
            lastActivity = now
            return true
        case .pending:
            return false
        case .failed:
            // Garbage, a refused protocol version, a client that left: this connection only.
            closeClient()
            return false
        }
    }
}

import EventLoop

/// What an idle upstream connection can be reused for: the same backend address, spoken to the
/// same way (plain, or TLS of one pool profile).
struct IdleKey: Hashable {
    var address: SocketAddress
    /// 0: plaintext; else `UpstreamTLS.profile`.
    var tlsProfile: Int
}

/// A connection to a backend. While an exchange uses it, it belongs to that session; between
/// exchanges it waits in the worker's idle pool.
final class UpstreamConnection {
    let fd: Int32
    var generation: UInt32
    /// The backend it is connected to, and how: the idle pool's key.
    let key: IdleKey
    var address: SocketAddress { key.address }
    /// TLS towards the backend (a pool with `tls:`), nil for plaintext.
    let secure: SecureChannel?
    var input: ByteBuffer
    var connected: Bool
    var readable = false
    var writable = false
    var peerClosed = false
    var sawHangup = false
    var timerQueued = false
    var idleDeadline: UInt64 = 0

    /// The backend's id, for the worker's per-backend connection gauge (kept by init/deinit).
    let backendID: Int
    private unowned(unsafe) let worker: Worker

    init(worker: Worker, backendID: Int, fd: Int32, generation: UInt32, key: IdleKey, secure: SecureChannel?,
         connected: Bool) {
        input = ByteBuffer(pool: worker.bufferPool)
        self.worker = worker
        self.backendID = backendID
        worker.upstreamConnectionsByID[backendID] &+= 1
        self.fd = fd
        self.generation = generation
        self.key = key
        self.secure = secure
        self.connected = connected
        self.writable = connected
    }

    deinit {
        worker.upstreamConnectionsByID[backendID] &-= 1
    }

    /// Connected, and past its TLS handshake if it speaks TLS: requests may go out.
    var ready: Bool { connected && (secure?.established ?? true) }

    /// A read may find something: the socket says so, or TLS holds input already.
    var mayRead: Bool { readable || (secure?.hasReadableInput ?? false) }

    /// Reads once, through TLS if the connection speaks it (see `readOnce`).
    @inline(__always)
    func read(into buffer: inout ByteBuffer, minimum: Int = 4096, limit: Int = .max) -> ReadOutcome {
        if let secure {
            return secure.read(fd, into: &buffer, readable: &readable, writable: &writable, sawHangup: sawHangup,
                               minimum: minimum, limit: limit)
        }
        return readOnce(fd, into: &buffer, readable: &readable, sawHangup: sawHangup, minimum: minimum, limit: limit)
    }

    /// Writes once, through TLS if the connection speaks it (see `writeOnce`).
    @inline(__always)
    func write(from buffer: inout ByteBuffer) -> WriteOutcome {
        if let secure { return secure.write(fd, from: &buffer, writable: &writable) }
        return writeOnce(fd, from: &buffer, writable: &writable)
    }

    /// Half-closes towards the backend (close_notify first over TLS). True once the FIN is sent.
    func finishOutput() -> Bool {
        if let secure, !secure.finishOutput(fd, writable: &writable) { return false }
        Socket.shutdownWrite(fd)
        return true
    }

    /// Advances the TLS handshake (a connection without TLS is done at once).
    func handshake() -> HandshakeOutcome {
        guard let secure, !secure.established else { return .done }
        return secure.handshake(fd, readable: &readable, writable: &writable, sawHangup: sawHangup)
    }

    /// Nothing buffered that an idle pool could not account for.
    var isQuiet: Bool { input.isEmpty && !(secure?.hasBufferedInput ?? false) && !(secure?.hasPendingOutput ?? false) }
}

/// Idle upstream connections of one worker, per backend address and TLS profile, most recently
/// used first (its TCP state is the warmest and it is least likely to have been closed by the
/// backend).
final class IdleUpstreamPool {
    private var byKey: [IdleKey: [UpstreamConnection]] = [:]

    func take(for key: IdleKey) -> UpstreamConnection? {
        // Mutated in place through the optional: no copy of the list per request.
        byKey[key]?.popLast()
    }

    /// Keeps `connection` if there is room; returns false when the caller should close it.
    func put(_ connection: UpstreamConnection, limit: Int) -> Bool {
        guard (byKey[connection.key]?.count ?? 0) < limit else { return false }
        byKey[connection.key, default: []].append(connection)
        return true
    }

    func remove(_ connection: UpstreamConnection) {
        byKey[connection.key]?.removeAll { $0 === connection }
    }

    /// Drops every reference without closing (the worker is going away with its descriptors).
    func forgetAll() {
        byKey.removeAll()
    }

    /// Closes the idle connections `matching` selects (those to backends a reload removed).
    func closeAll(worker: Worker, where matching: (UpstreamConnection) -> Bool) {
        for (key, list) in byKey {
            let (closing, keeping) = (list.filter(matching), list.filter { !matching($0) })
            for connection in closing { worker.close(connection.fd) }
            byKey[key] = keeping
        }
    }

    func closeAll(worker: Worker) {
        for list in byKey.values {
            for connection in list { worker.close(connection.fd) }
        }
        byKey.removeAll()
    }
}

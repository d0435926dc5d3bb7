import EventLoop
import Transport

/// What an idle upstream connection can be reused for: the same backend address, spoken to the
/// same way (plain, or TLS of one pool profile).
struct IdleKey: Hashable {
    var address: SocketAddress
    /// 0: plaintext; else `UpstreamTLS.profile`.
    var tlsProfile: Int
}

/// A connection to a backend: its transport and the bytes it answered. While an exchange uses
/// it, it belongs to that exchange; between exchanges it waits in the worker's idle pool.
final class UpstreamConnection {
    var stream: ByteStream
    var fd: Int32 { stream.fd }
    let generation: UInt32
    /// The backend it is connected to, and how: the idle pool's key.
    let key: IdleKey
    var address: SocketAddress { key.address }
    var input: ByteBuffer
    /// The non-blocking connect completed.
    var connected: Bool
    /// The backend closed its side (or the connection failed): nothing more will come.
    var peerClosed = false
    var timerQueued = false
    var idleDeadline: UInt64 = 0

    /// The backend's id, for the worker's per-backend connection gauge (kept by init/deinit).
    let backendID: Int
    // Strong, as in every data-plane object (see `ClientConnection.worker`).
    private let worker: Worker

    init(worker: Worker, backendID: Int, stream: ByteStream, generation: UInt32, key: IdleKey, connected: Bool) {
        input = ByteBuffer(pool: worker.bufferPool)
        self.worker = worker
        self.backendID = backendID
        worker.upstreamConnectionsByID[backendID] &+= 1
        self.stream = stream
        self.generation = generation
        self.key = key
        self.connected = connected
    }

    deinit {
        worker.upstreamConnectionsByID[backendID] &-= 1
    }

    /// Connected, and past its TLS handshake if it speaks TLS: requests may go out.
    var ready: Bool { connected && stream.established }

    /// Nothing buffered that an idle pool could not account for.
    var isQuiet: Bool { input.isEmpty && stream.isQuiet }
}

import EventLoop

/// A connection to a backend. While an exchange uses it, it belongs to that session; between
/// exchanges it waits in the worker's idle pool.
final class UpstreamConnection {
    let fd: Int32
    var generation: UInt32
    /// The backend it is connected to: the idle pool's key.
    let address: SocketAddress
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

    init(worker: Worker, backendID: Int, fd: Int32, generation: UInt32, address: SocketAddress, connected: Bool) {
        input = ByteBuffer(pool: worker.bufferPool)
        self.worker = worker
        self.backendID = backendID
        worker.upstreamConnectionsByID[backendID] &+= 1
        self.fd = fd
        self.generation = generation
        self.address = address
        self.connected = connected
        self.writable = connected
    }

    deinit {
        worker.upstreamConnectionsByID[backendID] &-= 1
    }
}

/// Idle upstream connections of one worker, per backend address, most recently used first (its
/// TCP state is the warmest and it is least likely to have been closed by the backend).
final class IdleUpstreamPool {
    private var byAddress: [SocketAddress: [UpstreamConnection]] = [:]

    func take(for address: SocketAddress) -> UpstreamConnection? {
        // Mutated in place through the optional: no copy of the list per request.
        byAddress[address]?.popLast()
    }

    /// Keeps `connection` if there is room; returns false when the caller should close it.
    func put(_ connection: UpstreamConnection, limit: Int) -> Bool {
        guard (byAddress[connection.address]?.count ?? 0) < limit else { return false }
        byAddress[connection.address, default: []].append(connection)
        return true
    }

    func remove(_ connection: UpstreamConnection) {
        byAddress[connection.address]?.removeAll { $0 === connection }
    }

    /// Drops every reference without closing (the worker is going away with its descriptors).
    func forgetAll() {
        byAddress.removeAll()
    }

    /// Closes the idle connections `matching` selects (those to backends a reload removed).
    func closeAll(worker: Worker, where matching: (UpstreamConnection) -> Bool) {
        for (address, list) in byAddress {
            let (closing, keeping) = (list.filter(matching), list.filter { !matching($0) })
            for connection in closing { worker.close(connection.fd) }
            byAddress[address] = keeping
        }
    }

    func closeAll(worker: Worker) {
        for list in byAddress.values {
            for connection in list { worker.close(connection.fd) }
        }
        byAddress.removeAll()
    }
}

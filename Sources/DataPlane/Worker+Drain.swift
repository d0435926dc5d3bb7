import EventLoop

/// Deregistration delay on the worker's side: a backend a reload removed gets no new request
/// (it is not in the new snapshot), its idle upstream connections close at once, and whatever
/// still runs on it (a slow exchange, a WebSocket, a TCP relay) may last until the removed pool's
/// `deregistration_delay`, then is closed.
extension Worker {
    /// Removed by a reload, or drained (`state: drain`): its upstream connections are not reused.
    func isRemoved(backendID: Int) -> Bool {
        backendID < removedBackends.count && removedBackends[backendID]
    }

    func drainRemovedBackends(previous: RoutingTable, next: RoutingTable) {
        var live = Set<Int>()
        var liveAddresses = Set<SocketAddress>()
        var anyDrained = false
        for pool in next.pools {
            for backend in pool.backends {
                live.insert(backend.id)
                // Re-added ones are reused again; drained ones (`state: drain`) are not.
                if backend.id < removedBackends.count { removedBackends[backend.id] = backend.drained }
                if backend.drained { anyDrained = true } else { liveAddresses.insert(backend.address) }
            }
        }
        var deadlines: [Int: UInt64] = [:]
        for pool in previous.pools {
            for backend in pool.backends where !live.contains(backend.id) {
                removedBackends[backend.id] = true
                deadlines[backend.id] = loop.now &+ pool.deregistrationDelay
            }
        }
        // Idle connections to a removed or drained backend close now, so "nothing open on it" is
        // reached as soon as its exchanges end. (None of a drained one's is pooled again.)
        if anyDrained || !deadlines.isEmpty {
            idlePool.closeAll(worker: self, where: { !liveAddresses.contains($0.address) })
        }
        guard !deadlines.isEmpty else { return }
        for owner in owners {
            switch owner {
            case .client(let connection):
                if let id = connection.exchange?.attempts.claim?.id, let deadline = deadlines[id] { connection.drain(until: deadline) }
            case .h2(let connection):
                for (id, deadline) in deadlines { connection.drain(backendID: id, until: deadline) }
            case .tcp(let session):
                if let id = session.claim?.id, let deadline = deadlines[id] { session.drain(until: deadline) }
            default:
                break
            }
        }
    }
}

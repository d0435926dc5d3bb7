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
        var wasDrained = Set<Int>()
        for pool in previous.pools { for backend in pool.backends where backend.drained { wasDrained.insert(backend.id) } }
        var newlyDrained = Set<SocketAddress>()
        for pool in next.pools {
            for backend in pool.backends {
                live.insert(backend.id)
                if backend.drained {
                    if !wasDrained.contains(backend.id) { newlyDrained.insert(backend.address) }
                } else {
                    liveAddresses.insert(backend.address)
                }
            }
        }
        // A backend an operator drained (`state: drain`) keeps what runs on it, but its idle
        // connections go now, so "nothing open on it" is reached as soon as its exchanges end.
        if !newlyDrained.isEmpty {
            idlePool.closeAll(worker: self, where: { newlyDrained.contains($0.address) && !liveAddresses.contains($0.address) })
        }
        for id in live where id < removedBackends.count { removedBackends[id] = false }  // re-added
        // A drained backend's connections are not kept for reuse either.
        for pool in next.pools {
            for backend in pool.backends where backend.drained && backend.id < removedBackends.count {
                removedBackends[backend.id] = true
            }
        }
        var deadlines: [Int: UInt64] = [:]
        for pool in previous.pools {
            for backend in pool.backends where !live.contains(backend.id) {
                removedBackends[backend.id] = true
                deadlines[backend.id] = loop.now &+ pool.deregistrationDelay
            }
        }
        guard !deadlines.isEmpty else { return }
        idlePool.closeAll(worker: self, where: { !liveAddresses.contains($0.address) })
        for owner in owners {
            switch owner {
            case .client(let session):
                if let id = session.claim?.id, let deadline = deadlines[id] { session.drain(until: deadline) }
            case .tcp(let session):
                if let id = session.claim?.id, let deadline = deadlines[id] { session.drain(until: deadline) }
            default:
                break
            }
        }
    }
}

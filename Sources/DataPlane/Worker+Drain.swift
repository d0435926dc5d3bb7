import EventLoop

/// Deregistration delay on the worker's side: a backend a reload removed gets no new request
/// (it is not in the new snapshot), its idle upstream connections close at once, and whatever
/// still runs on it (a slow exchange, a WebSocket, a TCP relay) may last until the removed pool's
/// `deregistration_delay`, then is closed.
extension Worker {
    func isRemoved(backendID: Int) -> Bool {
        backendID < removedBackends.count && removedBackends[backendID]
    }

    func drainRemovedBackends(previous: RoutingTable, next: RoutingTable) {
        var live = Set<Int>()
        var liveAddresses = Set<SocketAddress>()
        for pool in next.pools {
            for backend in pool.backends {
                live.insert(backend.id)
                liveAddresses.insert(backend.address)
            }
        }
        for id in live where id < removedBackends.count { removedBackends[id] = false }  // re-added
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

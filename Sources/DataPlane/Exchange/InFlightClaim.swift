import EventLoop
import Metrics

/// One request (or tunnel) counted in flight on one backend: in the snapshot's per-pool counts
/// that least_request reads, and in the worker's per-backend-id gauges that `/status` reads.
/// Taken when a backend is picked, released exactly once, where it was taken even if a reload
/// has since installed another snapshot.
struct InFlightClaim {
    let routing: WorkerRouting
    let pool: Int
    let backend: Int
    /// The backend's stable id (`RoutingTable.Backend.id`).
    let id: Int

    init(routing: WorkerRouting, pool: Int, backend: Int, worker: Worker) {
        self.routing = routing
        self.pool = pool
        self.backend = backend
        id = routing.table.pools[pool].backends[backend].id
        routing.requestStarted(pool: pool, backend: backend)
        worker.inFlightByID[id] &+= 1
    }

    func release(_ worker: Worker) {
        routing.requestEnded(pool: pool, backend: backend)
        worker.inFlightByID[id] &-= 1
    }
}

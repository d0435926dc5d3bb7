import Glibc
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

/// Why a new upstream connection could not be opened at once.
enum UpstreamOpenFailure: Error {
    /// The backend refused (immediate on loopback): its failure, counted; another may be tried.
    case refused
    /// This process is out of descriptors, buffers or memory: not the backend's fault, and
    /// another backend would fare no better.
    case localShortage
}

extension Worker {
    /// A new non-blocking connection to a backend, registered for `owner`.
    func openUpstream(to address: SocketAddress, as owner: FDOwner)
        -> Result<(fd: Int32, generation: UInt32, connected: Bool), UpstreamOpenFailure> {
        do {
            let (fd, connected) = try Socket.connect(to: address)
            Socket.setNoDelay(fd)
            guard let generation = register(fd, as: owner) else {
                Socket.close(fd)
                return .failure(.refused)
            }
            return .success((fd, generation, connected))
        } catch {
            return .failure([EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errno) ? .localShortage : .refused)
        }
    }
}

import Balancer
import EventLoop
import Glibc
import TLS
import Transport

/// The backends one exchange (or TCP relay) has tried, and the one it is on now, with its
/// in-flight claim. Reset for each exchange; shared by HTTP and TCP.
struct BackendAttempts {
    private(set) var tried = TriedSet()
    /// The latest attempt's backend (an index into its pool), also after it failed: a 502 names
    /// the backend that caused it.
    private(set) var backend: Int?
    /// The backend this exchange is counted in flight on, while it is.
    private(set) var claim: InFlightClaim?
    /// When the latest attempt began (picked; an idle connection taken or a connect begun).
    private(set) var startedAt: UInt64?

    var triedAny: Bool { !tried.isEmpty }

    /// Picks the next backend of `pool` not tried yet and counts the request in flight on it.
    mutating func pick(pool: Int, routing: WorkerRouting, worker: Worker, now: UInt64) -> Int? {
        guard let next = routing.pickBackend(pool: pool, excluding: tried) else { return nil }
        release(worker)
        tried.insert(next)
        backend = next
        startedAt = now
        claim = InFlightClaim(routing: routing, pool: pool, backend: next, worker: worker)
        return next
    }

    /// Returns the in-flight count to the backend it was taken on (once; idempotent).
    mutating func release(_ worker: Worker) {
        claim?.release(worker)
        claim = nil
    }
}

/// How getting an upstream connection came out.
enum ConnectOutcome {
    /// A connection: taken from the idle pool (`connected`), or a connect under way.
    case connection(UpstreamConnection)
    /// Out of descriptors or memory here: not the backend's failure, and no other would fare better.
    case localShortage
    /// No backend left to try.
    case exhausted
}

/// pick → idle connection or new connect → the next backend when one refuses at once, for HTTP
/// exchanges and TCP relays alike. It knows nothing of codecs: it hands back a connection
/// registered for `owner`, or why there is none.
struct Connector {
    let worker: Worker

    /// `attempt` is asked before each pick (the exchange's attempt limit); `refused` hears of each
    /// backend that refused at once (its failure, counted by the caller). `reuse`: an idle
    /// connection may serve (HTTP; a TCP relay needs a fresh one).
    func connect(pool: Int, routing: WorkerRouting, attempts: inout BackendAttempts, owner: FDOwner, reuse: Bool,
                 attempt: () -> Bool, refused: (_ backendID: Int) -> Void) -> ConnectOutcome {
        // The pool and backend are read field by field where needed: a copy of the pool's
        // description would cost a retain and release for each of its references, per request.
        let pools = routing.table.pools
        while attempt() {
            guard let backend = attempts.pick(pool: pool, routing: routing, worker: worker, now: worker.loop.clock.now)
            else { break }
            let address = pools[pool].backends[backend].address
            let backendID = pools[pool].backends[backend].id
            let key = IdleKey(address: address, tlsProfile: pools[pool].tls?.profile ?? 0)
            if reuse, let idle = worker.idlePool.take(for: key) {
                idle.stream.assumeWritable()
                worker.own(idle.fd, as: owner)
                return .connection(idle)
            }
            var secure: SecureChannel?
            if let tls = pools[pool].tls {
                let serverName = pools[pool].backends[backend].serverName
                guard let connection = try? TLSConnection(client: tls.context, serverName: serverName) else {
                    attempts.release(worker)  // out of memory for a TLS state: try the next one
                    continue
                }
                secure = SecureChannel(connection, pool: worker.bufferPool)
            }
            switch open(address, owner: owner) {
            case .success(let (fd, generation, connected)):
                return .connection(UpstreamConnection(
                    worker: worker, backendID: backendID, stream: ByteStream(fd: fd, secure: secure, writable: connected),
                    generation: generation, key: key, connected: connected))
            case .failure(.localShortage):
                attempts.release(worker)
                return .localShortage
            case .failure(.refused):
                attempts.release(worker)
                refused(backendID)  // refused at once (common on loopback): the next backend
            }
        }
        return .exhausted
    }

    /// Why a new upstream connection could not be opened at once.
    private enum OpenFailure: Error {
        /// The backend refused: its failure; another may be tried.
        case refused
        /// This process is out of descriptors, buffers or memory.
        case localShortage
    }

    /// A new non-blocking connection, registered for `owner`.
    private func open(_ address: SocketAddress, owner: FDOwner)
        -> Result<(fd: Int32, generation: UInt32, connected: Bool), OpenFailure> {
        do {
            let (fd, connected) = try Socket.connect(to: address)
            Socket.setNoDelay(fd)
            guard let generation = worker.register(fd, as: owner) else {
                Socket.close(fd)
                return .failure(.refused)
            }
            return .success((fd, generation, connected))
        } catch {
            return .failure([EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errno) ? .localShortage : .refused)
        }
    }
}

import CLinux
import EventLoop
import Glibc
import HTTP1
import Metrics
import TLS
import Transport

/// Messages the control plane posts to a worker.
public enum WorkerMessage: Sendable {
    /// A new routing snapshot; used for every request accepted or parsed from now on.
    /// `applied` is called on the worker's thread once the snapshot is in place, so a reload can
    /// return only when no worker will route a new request under the old one.
    case install(RoutingTable, applied: @Sendable () -> Void)
    /// Start accepting on this already-bound listening socket (one per worker per listener).
    case listen(fd: Int32, spec: ListenerSpec)
    /// A kept listener's settings changed (its route, say): its socket stays as it is.
    case updateListener(ListenerSpec)
    /// Stop accepting on the listener with this name and close its socket.
    case closeListener(name: String)
    /// A ramp step: the split of route `route` under snapshot `generation` becomes `weights`.
    /// Ignored when the worker has a newer snapshot (its own split supersedes the ramp's).
    case setSplit(generation: UInt64, route: String, weights: [Int], applied: (@Sendable () -> Void)? = nil)
    /// New effective weights (per pool, per backend) under snapshot `generation`.
    case setWeights(generation: UInt64, weights: [[Int]])
    /// Report per-backend gauges (indexed by backend id) to `reply`, on the worker's thread.
    case report(reply: @Sendable (WorkerReport) -> Void)
    /// Stop: close listeners; finish in-flight exchanges until `deadline` (monotonic ns), then exit.
    /// `handedOver`: an upgrade gave the listening sockets to a new process, which accepts on
    /// them now: this process only lets go of its descriptors.
    case stop(deadline: UInt64, handedOver: Bool = false)
    /// A stop is coming (SIGTERM's `shutdown_delay`, or an upgrade): every answer from now on
    /// carries `Connection: close`, so keep-alive clients move to new connections while the
    /// listeners still accept, instead of meeting a close later.
    case answerWithClose
    /// After a burst: give idle pooled buffers back, then ask the allocator to return free pages
    /// to the kernel (glibc keeps a freed burst's memory in its per-thread arenas otherwise).
    case trimMemory
    /// Access-log lines go to this ring from now on (nil: the access log is off).
    case accessLog(AccessLogTarget?)
}

/// Who owns a descriptor on this worker. A closed enum of concrete classes: the hot loop switches
/// over it instead of calling through existentials.
enum FDOwner {
    case none
    case listener(Listener)
    case client(ClientConnection)
    case upstream(Exchange<ClientConnection>)
    /// An HTTP/2 client connection, and an upstream connection of one of its streams' exchanges.
    case h2(H2Connection)
    case h2Upstream(Exchange<H2ClientStream>)
    case idleUpstream(UpstreamConnection)
    case tcp(TCPSession)
}

/// A listening socket on this worker.
final class Listener {
    let fd: Int32
    private(set) var spec: ListenerSpec
    /// The listener's route under the current snapshot (nil: the snapshot lacks it).
    private(set) var routeIndex: Int?
    private(set) var rules: ListenerRules

    init(fd: Int32, spec: ListenerSpec) {
        self.fd = fd
        self.spec = spec
        rules = ListenerRules(spec.rules)
    }

    /// A reload changed its settings (its route, its rules): the socket stays.
    func update(_ spec: ListenerSpec, routing: WorkerRouting) {
        self.spec = spec
        rules = ListenerRules(spec.rules)
        resolve(routing)
    }

    /// Route names to indices under a new snapshot.
    func resolve(_ routing: WorkerRouting) {
        routeIndex = routing.routeIndex(named: spec.routeName)
        rules.resolve(routing)
    }
}

/// One data-plane thread: an epoll loop that owns its listeners' sockets, every connection it
/// accepted, and its idle upstream connections. Nothing here is shared with other threads except
/// the mailbox and the immutable routing snapshot.
///
/// `@unchecked Sendable`: the control plane hands a worker to its thread once and afterwards
/// touches only `mailbox` (itself Sendable) and `index`.
public final class Worker: EventLoopHandler, @unchecked Sendable {
    public let index: Int
    public let mailbox: Mailbox<WorkerMessage>
    let loop: EventLoop
    var routing: WorkerRouting
    private(set) var owners: [FDOwner] = Array(repeating: .none, count: 1024)
    var listeners: [Listener] = []
    let idlePool = IdleUpstreamPool()
    var activeConnections = 0
    /// Requests (and tunnels) in flight per backend id, across every snapshot still in use.
    var inFlightByID: [Int32] = []
    /// Open upstream connections per backend id (in use or idle).
    var upstreamConnectionsByID: [Int32] = []
    /// Backends the latest reload removed, by id: their connections are not pooled again.
    var removedBackends: [Bool] = []
    /// The request-path series, written by this worker's thread only; a scrape gets a copy
    /// (other threads read it directly only after the thread has ended).
    public internal(set) var metrics = WorkerMetrics()
    /// Passive health: failures in a row per backend id (see `Worker+Metrics`).
    var failureStreaks: [Int32] = []
    /// Called on this worker's thread when a backend has failed `passive.consecutive_failures`
    /// exchanges in a row here. Set before the thread starts.
    public var backendFailing: (@Sendable (_ backendID: Int) -> Void)?
    private var acceptPaused = false
    private var overloadEpisode: AcceptPause?
    /// Set by `.answerWithClose`: answers carry `Connection: close` (a stop is coming).
    var answersClose = false
    private var stopDeadline: UInt64?
    private var stopTimerToken: UInt64 { UInt64.max }
    private var acceptRetryToken: UInt64 { UInt64.max - 1 }
    private var retireToken: UInt64 { UInt64.max - 2 }
    /// Listeners closing (see `retire`): filtered, accepted once more, closed at the timer.
    private var retiring: [Listener] = []
    /// Called on this worker's thread when it begins to pause accepting (0: max_connections,
    /// 1: out of descriptors), once per episode, so the control plane can log it. Set before start.
    public var acceptPausing: (@Sendable (_ reason: Int) -> Void)?
    /// The heads being parsed and rewritten: one at a time per thread, shared by all connections so
    /// their field arrays are allocated once per worker, not once per connection.
    /// Buffer blocks for this worker's connections (declared before them: it must outlive them).
    let bufferPool = BufferPool()
    var requestHead = RequestHead()
    var responseHead = ResponseHead()
    /// Exchanges between requests, for the next request of any connection: a keep-alive request
    /// allocates none, and an idle connection holds none.
    var spareExchanges: [Exchange<ClientConnection>] = []
    var spareH2Exchanges: [Exchange<H2ClientStream>] = []
    /// Formats and queues access-log lines; nil while the access log is off.
    var accessLog: AccessLogProducer?
    /// Scratch space for rendering a client address into X-Forwarded-For without allocating.
    let addressScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
    /// Scratch space for a request's normalised target (listeners that route by path).
    let targetScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 1)
    /// The lines a head gets beyond its own fields (header edits, a sticky Set-Cookie, a
    /// redirect's Location): emptied per head, its capacity kept.
    var extraLines: [UInt8] = []

    /// Empties `extraLines` for the next head. Most heads get none, and an empty array is left
    /// alone: `removeAll` would still pay a uniqueness check and a retain/release of its storage.
    func clearExtraLines() {
        if !extraLines.isEmpty { extraLines.removeAll(keepingCapacity: true) }
    }

    public init(index: Int, table: RoutingTable) throws(SyscallError) {
        self.index = index
        mailbox = try Mailbox()
        loop = try EventLoop(mailboxFD: mailbox.eventFD)
        routing = WorkerRouting(table: table, seed: Worker.seed(index))
        growGauges(for: table)
        reserveMetrics(for: table)
        extraLines.reserveCapacity(4096)
    }

    /// Makes room in the per-backend-id gauges for every backend of `table`.
    func growGauges(for table: RoutingTable) {
        let width = (table.pools.flatMap(\.backends).map(\.id).max() ?? -1) + 1
        if width > inFlightByID.count {
            inFlightByID += [Int32](repeating: 0, count: width - inFlightByID.count)
            upstreamConnectionsByID += [Int32](repeating: 0, count: width - upstreamConnectionsByID.count)
            removedBackends += [Bool](repeating: false, count: width - removedBackends.count)
        }
    }

    /// Each worker's balancers draw from their own random sequence.
    private static func seed(_ index: Int) -> UInt64 {
        MonotonicClock.now() ^ (UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
    }

    deinit {
        tearDown()
        addressScratch.deallocate()
        targetScratch.deallocate()
    }

    /// Lets go of every connection and exchange the worker still holds, once its loop is over.
    /// They hold the worker strongly (see `ClientConnection.worker`), so this is what lets the
    /// worker go too; and their buffers come from `bufferPool`, which must outlive them.
    private func tearDown() {
        owners.removeAll()
        spareExchanges.removeAll()
        spareH2Exchanges.removeAll()
        idlePool.forgetAll()
    }

    var settings: ProxySettings { routing.table.settings }

    /// Runs the loop on the calling thread until a stop completes.
    public func run() {
        do {
            try loop.run(self)
            tearDown()
        } catch {
            // epoll_wait itself failing leaves nothing to serve with: say so and stop the process.
            let line = Array("cutover: worker \(index): \(error)\n".utf8)
            _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            exit(70)
        }
    }

    // MARK: descriptor ownership

    func own(_ fd: Int32, as owner: FDOwner) {
        let i = Int(fd)
        if i >= owners.count {
            owners.append(contentsOf: repeatElement(.none, count: max(i + 1 - owners.count, owners.count)))
        }
        owners[i] = owner
    }

    /// Registers a new descriptor with epoll and records its owner; returns the generation.
    func register(_ fd: Int32, as owner: FDOwner) -> UInt32? {
        do {
            let generation = try loop.selector.register(fd)
            own(fd, as: owner)
            return generation
        } catch {
            return nil
        }
    }

    /// Forgets and closes `fd`. With `reset`, the peer gets an RST (a cut-short exchange).
    func close(_ fd: Int32, reset: Bool = false) {
        loop.selector.forget(fd)
        owners[Int(fd)] = .none
        if reset { Socket.abort(fd) } else { Socket.close(fd) }
    }

    /// Timer tokens name a descriptor and its generation, so a timer outliving its connection is
    /// recognised and ignored.
    func timerToken(fd: Int32, generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    // MARK: EventLoopHandler

    public func handle(fd: Int32, events: IOEvents) {
        switch owners[Int(fd)] {
        case .none:
            break
        case .listener(let listener):
            acceptAll(listener)
        case .client(let connection):
            connection.clientEvent(events)
        case .upstream(let exchange):
            exchange.upstreamEvent(events)
        case .h2(let connection):
            connection.event(events)
        case .h2Upstream(let exchange):
            exchange.upstreamEvent(events)
        case .idleUpstream(let connection):
            // An idle connection has nothing to say: data or a close means it is unusable. A bare
            // writability edge is harmless.
            guard events.readable else { return }
            idlePool.remove(connection)
            close(connection.fd)
        case .tcp(let session):
            session.event(fd: fd, events: events)
        }
    }

    public func timerFired(token: UInt64) {
        if token == stopTimerToken {
            finishStop(force: true)
            return
        }
        if token == acceptRetryToken {
            resumeAccepting()
            return
        }
        if token == retireToken {
            closeRetired()
            return
        }
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
        let generation = UInt32(truncatingIfNeeded: token >> 32)
        guard Int(fd) < owners.count, loop.selector.generation(of: fd) == generation else { return }
        switch owners[Int(fd)] {
        case .client(let connection): connection.timerFired()
        case .tcp(let session): session.timerFired()
        case .upstream(let exchange):
            // An idle timer of a connection that is busy again: it re-arms when it is idle next.
            if let connection = exchange.upstream, connection.fd == fd { connection.timerQueued = false }
        case .h2Upstream(let exchange):
            if let connection = exchange.upstream, connection.fd == fd { connection.timerQueued = false }
        case .h2(let connection): connection.timerFired()
        case .idleUpstream(let connection):
            connection.timerQueued = false
            if connection.idleDeadline <= loop.now {
                idlePool.remove(connection)
                close(connection.fd)
            } else {
                connection.timerQueued = true
                loop.schedule(deadline: connection.idleDeadline, token: token)
            }
        case .none, .listener: break
        }
    }

    public func mailboxReady() {
        for message in mailbox.drain() {
            switch message {
            case .install(let table, let applied):
                install(table)
                applied()
            case .listen(let fd, let spec):
                let listener = Listener(fd: fd, spec: spec)
                reserveMetrics(forListener: spec)
                listener.resolve(routing)
                listeners.append(listener)
                _ = register(fd, as: .listener(listener))
            case .setWeights(let generation, let weights):
                if routing.table.generation == generation { routing.setEffectiveWeights(weights) }
            case .report(let reply):
                reply(WorkerReport(inFlight: inFlightByID, connections: upstreamConnectionsByID,
                                   activeConnections: activeConnections, metrics: metrics))
            case .setSplit(let generation, let route, let weights, let applied):
                if routing.table.generation == generation, let r = routing.routeIndex(named: route) {
                    routing.setSplitWeights(route: r, weights)
                }
                applied?()
            case .updateListener(let spec):
                reserveMetrics(forListener: spec)
                for listener in listeners where listener.spec.name == spec.name { listener.update(spec, routing: routing) }
            case .closeListener(let name):
                // Connections the kernel already queued on it are taken and served, not reset.
                let closing = listeners.filter { $0.spec.name == name }
                listeners.removeAll { $0.spec.name == name }
                retire(closing)
                // Its HTTP/2 connections get a GOAWAY (their clients reconnect to what remains).
                for owner in owners {
                    if case .h2(let connection) = owner, closing.contains(where: { $0 === connection.listener }) {
                        connection.shutdownRequested()
                    }
                }
            case .stop(let deadline, let handedOver):
                beginStop(deadline: deadline, handedOver: handedOver)
            case .answerWithClose:
                answersClose = true
                // HTTP/2 clients hear it as a GOAWAY: no new streams here, those in flight finish.
                for owner in owners { if case .h2(let connection) = owner { connection.shutdownRequested() } }
            case .accessLog(let target):
                setAccessLog(target)
            case .trimMemory:
                bufferPool.trim()
                _ = cutover_malloc_trim()
            }
        }
    }

    public func iterationEnded() {
        if stopDeadline != nil && activeConnections == 0 && retiring.isEmpty { finishStop(force: false) }
    }

    private func install(_ table: RoutingTable) {
        let previous = routing.table
        routing = WorkerRouting(table: table, seed: Worker.seed(index))
        // Spares would keep the old snapshot alive: new ones come with the next requests.
        spareExchanges.removeAll()
        spareH2Exchanges.removeAll()
        growGauges(for: table)
        reserveMetrics(for: table)
        drainRemovedBackends(previous: previous, next: table)
        for listener in listeners { listener.resolve(routing) }
    }

    // MARK: accepting

    private func acceptAll(_ listener: Listener) {
        while activeConnections < settings.maxConnections {
            let accepted: (fd: Int32, peer: SocketAddress)
            do {
                switch try Socket.accept(listener.fd) {
                case .wouldBlock:
                    overloadEpisode = nil  // the queue is empty: whatever pause there was is over
                    return
                case .processed(let result): accepted = result
                }
            } catch {
                // EMFILE, ENOBUFS, ECONNABORTED: this connection is lost, the listener is fine.
                // Out of descriptors: the connection stays in the kernel's queue; accepting
                // pauses and is tried again in 100 ms (or when one of ours closes).
                if error.errno == EMFILE || error.errno == ENFILE {
                    pauseAccepting(.descriptors)
                    loop.schedule(deadline: loop.now &+ 100_000_000, token: acceptRetryToken)
                }
                return
            }
            Socket.setNoDelay(accepted.fd)
            activeConnections += 1
            metrics.connectionOpened(listener: listener.spec.metricsID)
            switch listener.spec.kind {
            case .http:
                var secure: SecureChannel?
                if let context = listener.spec.tls {
                    guard let tls = try? TLSConnection(server: context) else {  // out of memory
                        activeConnections -= 1
                        Socket.close(accepted.fd)
                        continue
                    }
                    secure = SecureChannel(tls, pool: bufferPool)
                }
                let connection = ClientConnection(worker: self, stream: ByteStream(fd: accepted.fd, secure: secure),
                                                  peer: accepted.peer, listener: listener)
                guard let generation = register(accepted.fd, as: .client(connection)) else {
                    activeConnections -= 1
                    Socket.close(accepted.fd)
                    continue
                }
                connection.start(generation: generation)
            case .tcp:
                let session = TCPSession(worker: self, fd: accepted.fd, listener: listener)
                guard let generation = register(accepted.fd, as: .tcp(session)) else {
                    activeConnections -= 1
                    Socket.close(accepted.fd)
                    continue
                }
                session.start(generation: generation)
            }
        }
        // At max_connections: the rest wait in the listen queue (or are refused by the kernel
        // once it is full), never accepted and reset.
        pauseAccepting(.maxConnections)
    }

    /// Closing a listening socket resets what waits in its queue, and a handshake completing
    /// just before the close lands there too. So: no new handshake is let in (a filter drops
    /// SYNs; their clients retry and meet a closed port: refused, not reset), the queue is
    /// accepted and served, and the socket closes 20 ms later, after what was under way has
    /// arrived and been accepted too.
    private func retire(_ closing: [Listener]) {
        guard !closing.isEmpty else { return }
        for listener in closing {
            _ = cutover_refuse_new_handshakes(listener.fd)
            acceptAll(listener)
        }
        retiring += closing
        loop.schedule(deadline: loop.now &+ 20_000_000, token: retireToken)
    }

    private func closeRetired() {
        guard !retiring.isEmpty else { return }
        for listener in retiring {
            acceptAll(listener)
            close(listener.fd)
        }
        retiring.removeAll()
        // Stopping: what was just accepted is served once, with Connection: close.
        if stopDeadline != nil {
            for owner in owners {
                switch owner {
                case .client(let connection) where !connection.shutdownPending: connection.shutdownRequested()
                case .h2(let connection): connection.shutdownRequested()
                default: break
                }
            }
        }
    }

    /// Why a worker stopped accepting; counted once per episode (`cutover_accept_pauses_total`).
    enum AcceptPause: Int { case maxConnections = 0, descriptors = 1 }

    /// An episode lasts until a listen queue is found empty again: resuming for one closed
    /// connection and pausing at once is the same episode (counted and logged once).
    private func pauseAccepting(_ reason: AcceptPause) {
        if overloadEpisode != reason {
            overloadEpisode = reason
            metrics.recordAcceptPause(reason.rawValue)
            acceptPausing?(reason.rawValue)
        }
        acceptPaused = true
    }

    private func resumeAccepting() {
        guard acceptPaused && stopDeadline == nil else { return }
        acceptPaused = false
        for listener in listeners { acceptAll(listener) }
    }

    /// A client connection ended: one more may be accepted.
    func connectionClosed(_ listener: Listener) {
        activeConnections -= 1
        metrics.connectionClosed(listener: listener.spec.metricsID)
        resumeAccepting()
    }

    // MARK: stopping

    private func beginStop(deadline: UInt64, handedOver: Bool) {
        stopDeadline = deadline
        if handedOver {
            // The sockets live on in the new process: a filter on them would stop it too.
            for listener in listeners { close(listener.fd) }
        } else {
            retire(listeners)
        }
        listeners.removeAll()
        idlePool.closeAll(worker: self)
        loop.schedule(deadline: deadline, token: stopTimerToken)
        // Keep-alive connections waiting for their next request are closed now; busy ones close
        // after their current exchange.
        for owner in owners {
            switch owner {
            case .client(let connection): connection.shutdownRequested()
            case .h2(let connection): connection.shutdownRequested()
            default: break
            }
        }
    }

    var isStopping: Bool { stopDeadline != nil }

    private func finishStop(force: Bool) {
        closeRetired()
        if force {
            for owner in owners {
                switch owner {
                case .client(let connection): connection.stopNow()
                case .h2(let connection): connection.stopNow()
                case .tcp(let session): session.closeBoth()
                default: break
                }
            }
        }
        idlePool.closeAll(worker: self)
        loop.stop()
    }
}

import AccessLogWriter
import Admin
import Balancer
import Config
import DataPlane
import Dispatch
import EventLoop
import Fleet
import HealthCheck
import Logging
import Foundation
import Metrics
import TLS

/// The running proxy: owns the workers and their threads, the listeners, and the current config.
/// All its methods run on the control plane's serial queue.
public final class Proxy: @unchecked Sendable {
    public let configFile: String
    private(set) var config: CutoverConfig
    var generation: UInt64 = 1
    private var workers: [Worker] = []
    private var threads: [LoopThread] = []
    var listeners: [String: BoundListener] = [:]
    /// Serializes everything that changes the proxy: signals, reloads from SIGHUP and from the
    /// admin API, stop.
    let queue = DispatchQueue(label: "cutover.control")
    private var signalSources: [any DispatchSourceSignal] = []
    var stopping = false
    private var draining = false
    /// The listening sockets this process was handed by the upgrade that started it (nil: a
    /// plain start), and the channel back to that process.
    var inherited: InheritedSockets?
    var upgradeChannel: UpgradeChannel?
    /// An upgrade is under way, or this process handed over to a new one (then it drains).
    var upgrading = false
    var handedOver = false
    /// The pid of the process whose upgrade started this one (it may still be draining).
    var upgradedFrom: Int32?
    /// Health states handed over, given to the checker before its first targets.
    var healthSeeds: [BackendIdentity: HealthState] = [:]
    /// What the admin API reads; published after every change, never read back by the proxy.
    let adminState: AdminState
    /// The split each route is at, and the ramps moving them (control queue only).
    var ramps: SplitRamps
    private var rampTimer: (any DispatchSourceTimer)?
    var admin: AdminServer?
    /// Every backend's id, health, slow start and drain (control queue only).
    var book = BackendBook()
    /// Certificates and TLS contexts of the config in force, and the session ticket keys.
    var tls = TLSBook()
    var checker: HealthChecker?
    var backendTimer: (any DispatchSourceTimer)?
    /// The workers' mailboxes, fixed once started: the admin threads ask workers for gauges.
    private(set) var mailboxes: [Mailbox<WorkerMessage>] = []
    /// Drains the workers' access-log rings (control queue sets it up once, in `start`).
    var accessLogWriter: AccessLogWriter?
    /// Where the access log goes now (nil: off).
    var accessLogOutput: AccessLogOutput?
    /// Each route's automated canary, running or finished (see `Proxy+Rollouts`).
    var rollouts: [String: RolloutRun] = [:]
    var rolloutTimers: [String: any DispatchSourceTimer] = [:]
    var rolloutPins: [String: RolloutPin] = [:]
    /// Whether the state file may hold rollouts (so an empty list is written over it once).
    var savedAny = false
    let notifier = RolloutNotifier()
    /// Memory trimming after bursts (see `Proxy+MemoryTrim`).
    var trimTimer: (any DispatchSourceTimer)?
    var trimAccepted = 0
    /// One of a fleet switched through etcd (`cluster:`; see `Proxy+Fleet`); nil on its own.
    var fleet: FleetRuntime?

    public init(configFile: String, config: CutoverConfig) {
        self.configFile = configFile
        self.config = config
        adminState = AdminState(config: config, generation: 1, workers: Proxy.workerCount(config.workers))
        ramps = SplitRamps(config)
    }

    public static func workerCount(_ setting: WorkerCount) -> Int {
        switch setting {
        case .fixed(let n): return n
        case .auto: return max(1, ProcessInfo.processInfo.activeProcessorCount)
        }
    }

    /// Binds every listener and starts the workers. Throws (binding nothing) on any error.
    /// Signal handlers are in place before the first socket accepts, and signals that arrive
    /// while starting wait on the suspended control queue until the workers run.
    public func start() throws(ConfigError) {
        installSignalHandlers()
        queue.suspend()
        defer { queue.resume() }
        if let overlaid = prepareFleet() {
            config = overlaid
            ramps = SplitRamps(overlaid)
            adminState.update { $0.config = overlaid }
        }
        let count = Proxy.workerCount(config.workers)
        // Certificates first: a missing or mismatched file stops the start-up, naming the file.
        let servers = try tls.loadListeners(config)
        inherited = InheritedSockets.fromEnvironment()
        upgradeChannel = ProcessInfo.processInfo.environment[UpgradeChannel.variable].flatMap(Int32.init).map(UpgradeChannel.init)
        if inherited != nil { adoptUpgradeState() }
        Proxy.noteAdminDrains(config, book: &book, now: MonotonicClock.now())
        let table = try SnapshotBuilder.build(config, generation: generation, workers: count, splits: ramps.effective,
                                              book: &book, tls: &tls, now: MonotonicClock.now())
        let accessLog = try startAccessLog(workers: count)
        // The admin socket is bound first: once the data listeners accept, so does the admin API.
        let admin: AdminServer?
        do {
            admin = try config.admin.map { admin throws(ConfigError) in
                if let fd = inherited?.takeAdmin(admin) { return AdminServer(adopting: fd, listen: admin.listen) }
                return try AdminServer(admin)
            }
        } catch {
            discardAccessLog(accessLog)
            throw error
        }
        var bound: [String: BoundListener] = [:]
        do {
            for listener in config.listeners {
                if let fds = inherited?.take(listener) {
                    bound[listener.name] = try ListenerBinder.adopt(fds, listener, workers: count, tls: servers[listener.name])
                } else {
                    bound[listener.name] = try ListenerBinder.bind(listener, workers: count, tls: servers[listener.name])
                }
                bound[listener.name]?.label(&book.labels)
            }
        } catch {
            for b in bound.values { b.fds.forEach(Socket.close) }
            admin?.discard()
            discardAccessLog(accessLog)
            throw error
        }
        listeners = bound
        for i in 0..<count {
            let worker: Worker
            do {
                worker = try Worker(index: i, table: table)
                worker.backendFailing = { [unowned self] id in self.queue.async { self.passiveFailure(backendID: id) } }
                let index = i
                worker.acceptPausing = { reason in
                    if reason == 0 {
                        log.warning("worker \(index): at limits.max_connections; new connections wait in the listen queue")
                    } else {
                        log.error("worker \(index): out of file descriptors (raise LimitNOFILE / ulimit -n); accepting paused, retried every 100 ms")
                    }
                }
            } catch {
                throw ConfigError(SourceLocation(file: configFile, line: 1, column: 1), "cannot start worker: \(error)")
            }
            workers.append(worker)
        }
        mailboxes = workers.map(\.mailbox)
        postAccessLog(accessLog)
        for worker in workers {
            threads.append(LoopThread(name: "cutover-w\(worker.index)") { worker.run() })
        }
        try startHealthChecks()
        backendsChanged()
        resumeRollouts()
        // Started by an upgrade: ready, but the old process still accepts; take over only on GO.
        if let channel = upgradeChannel {
            channel.send("READY \(getpid())")
            guard channel.receive(timeoutMs: 120_000) == "GO" else {
                log.critical("upgrade: the old process did not hand over; exiting (it keeps serving)")
                exit(1)
            }
            close(channel.fd)
            upgradeChannel = nil
            for fd in inherited?.all ?? [] { close(fd) }  // sockets of listeners this config no longer has
        }
        for listener in config.listeners {
            guard let b = bound[listener.name] else { continue }
            for (i, worker) in workers.enumerated() { worker.mailbox.post(.listen(fd: b.fds[i], spec: b.spec)) }
            for (i, fd) in b.fds.enumerated().dropFirst(workers.count) {
                workers[i % workers.count].mailbox.post(.listen(fd: fd, spec: b.spec))
            }
        }
        if let admin {
            let state = adminState
            let reports: @Sendable () -> [WorkerReport] = { [unowned self] in self.gatherReports(timeout: .milliseconds(500)) }
            let writer = accessLogWriter
            let view: @Sendable () -> AdminView = {
                AdminView(state.read(), reports: reports, accessLogStats: { writer?.stats ?? AccessLogStats() })
            }
            var api = AdminAPI(view: view) { [unowned self] in self.queue.sync { self.reloadReporting() } }
            api.rollout = { [unowned self] route, action in self.queue.sync { self.rolloutCommand(route: route, action) } }
            api.backendOperation = { [unowned self] pool, address, operation in
                self.queue.sync { self.backendOperation(pool: pool, address: address, operation) }
            }
            api.upgrade = { [unowned self] binary, timeout in self.upgrade(binary: binary, timeout: timeout) }
            admin.start(api.handle)
            self.admin = admin
        }
        startFleetAgent()
        let names = config.listeners.map { "\($0.name)=\($0.listen)" }.joined(separator: " ")
        log.info("cutover started: \(count) worker(s), generation \(generation), listeners: \(names)\(admin.map { ", admin API on \($0.listen)" } ?? "")")
        for warning in config.warnings { log.warning("\(warning)") }
        if ramps.isRamping { scheduleRampStep() }
        startMemoryTrim()
        let allowed = SnapshotBuilder.connectionsDescriptorsAllow()
        if allowed < config.limits.maxConnections {
            log.warning("limits.max_connections \(config.limits.maxConnections) needs about \(config.limits.maxConnections * 2 + 64) descriptors (a client and an upstream connection each); ulimit -n is \(SnapshotBuilder.descriptorLimit()), so at most \(allowed) are accepted (raise LimitNOFILE)")
        }
        if inherited == nil { SystemdNotify.send("READY=1\nMAINPID=\(getpid())") }
    }

    /// Parks the main thread; returns never (the process exits when stopped).
    public func runUntilStopped() -> Never {
        dispatchMain()
    }

    private func installSignalHandlers() {
        // Ignored first, so the default action (terminate) never runs; the sources still see them.
        for signo in [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2] { signal(signo, SIG_IGN) }
        signal(SIGPIPE, SIG_IGN)
        let handle: (Int32) -> any DispatchSourceSignal = { signo in
            let source = DispatchSource.makeSignalSource(signal: signo, queue: self.queue)
            source.setEventHandler { [unowned self] in
                switch signo {
                case SIGHUP: self.reload()
                case SIGUSR1: self.reopenAccessLog()
                case SIGUSR2: self.upgradeBySignal()
                case SIGINT: self.stop(reason: "SIGINT")
                default: self.stop(reason: "SIGTERM")
                }
            }
            source.resume()
            return source
        }
        signalSources = [handle(SIGTERM), handle(SIGINT), handle(SIGHUP), handle(SIGUSR1), handle(SIGUSR2)]
    }

    /// Reloads the config file: invalid → the running config keeps serving and the error is
    /// returned; valid → one new snapshot for every worker, listeners added and removed.
    @discardableResult
    func reload() -> Result<UInt64, ConfigError> {
        reloadReporting().result
    }

    /// `reload()` plus what changed; counts the outcome and publishes it to the admin API.
    /// Runs on `queue`, whoever asked (SIGHUP or `POST /reload`).
    /// With `fleet`, the fleet document to apply over the local config last loaded (the file
    /// is not read again).
    func reloadReporting(fleet document: FleetDocument? = nil) -> AdminReloadOutcome {
        let before = config
        SystemdNotify.reloading()
        let result = applyReload(fleet: document)
        SystemdNotify.send("READY=1")
        var changes: [String] = []
        if case .success = result {
            changes = describeChanges(from: before, to: config)
            for change in changes { log.info("changed: \(change)") }
            if let admin, config.admin?.listen != admin.listen {
                log.warning("admin API stays on \(admin.listen) until restart")
            }
        }
        let (config, generation) = (self.config, self.generation)
        adminState.update { state in
            state.config = config
            state.generation = generation
            state.lastReload = ReloadRecord(succeeded: result.isSuccess, error: result.failureDescription, at: Date())
            if result.isSuccess { state.reloadsSucceeded += 1 } else { state.reloadsFailed += 1 }
            if let admin = config.admin { state.token = admin.token }
        }
        return AdminReloadOutcome(result: result, changes: changes)
    }

    private func applyReload(fleet document: FleetDocument?) -> Result<UInt64, ConfigError> {
        let base: CutoverConfig
        let next: CutoverConfig
        let table: RoutingTable
        let logChange: AccessLogChange?
        var rolloutReload: (aborts: [String: String], held: [String: [Int]]) = ([:], [:])
        var nextRamps = ramps
        var nextBook = book
        var nextTLS = tls
        let servers: [String: TLSServerContext]
        do throws(ConfigError) {
            (base, next) = try fleetConfig(applying: document)
            if let first = FeatureGate.review(next).errors.first { throw first }
            // Certificates are read again: a renewed file at the same path is served from now on,
            // and one that cannot be loaded rejects the reload (the old ones keep serving).
            var tls = self.tls
            servers = try tls.loadListeners(next)
            let now = MonotonicClock.now()
            var ramps = self.ramps
            let aborts = rolloutAborts(from: config, to: next)
            var splits = ramps.apply(next, now: now)
            let held = rolloutSplits(for: next, aborting: aborts)
            for (route, weights) in held {
                splits[route] = weights
                ramps.pin(route: route, weights: weights)
            }
            rolloutReload = (aborts, held)
            var book = self.book
            noteBackendChanges(from: config, to: next, book: &book, now: now)
            table = try SnapshotBuilder.build(next, generation: generation + 1, workers: workers.count, splits: splits,
                                              book: &book, tls: &tls, now: now)
            logChange = try prepareAccessLog(next, replacing: accessLogOutput, workers: workers.count)
            nextRamps = ramps
            nextBook = book
            nextTLS = tls
        } catch {
            log.error("reload rejected, still serving generation \(generation): \(error)")
            return .failure(error)
        }
        // New listeners are bound before anything changes, so a bind error rejects the reload
        // whole. A listener whose address and protocol stay is never re-bound.
        var added: [String: BoundListener] = [:]
        for listener in next.listeners {
            if let old = listeners[listener.name], old.config.listen == listener.listen, old.config.proto == listener.proto {
                continue
            }
            do {
                added[listener.name] = try ListenerBinder.bind(listener, workers: workers.count, tls: servers[listener.name])
            } catch {
                for b in added.values { b.fds.forEach(Socket.close) }
                discardAccessLog(logChange)
                log.error("reload rejected, still serving generation \(generation): \(error)")
                return .failure(error)
            }
        }
        generation += 1
        postAccessLog(logChange)
        publish(table)
        retireAccessLog(logChange)
        ramps = nextRamps
        book = nextBook
        tls = nextTLS
        scheduleRampStep()
        let nextByName = Dictionary(next.listeners.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in Array(listeners.keys) where nextByName[name] == nil || added[name] != nil {
            for worker in workers { worker.mailbox.post(.closeListener(name: name)) }
            listeners[name] = nil
        }
        for (name, var kept) in listeners {
            // New handshakes get the new certificates; connections already made keep theirs.
            guard let updated = nextByName[name], updated != kept.config || servers[name] !== kept.tls else { continue }
            kept.config = updated
            kept.tls = servers[name]
            kept.label(&book.labels)
            listeners[name] = kept
            for worker in workers { worker.mailbox.post(.updateListener(kept.spec)) }
        }
        for (name, var b) in added {
            b.label(&book.labels)
            listeners[name] = b
            for (i, worker) in workers.enumerated() { worker.mailbox.post(.listen(fd: b.fds[i], spec: b.spec)) }
        }
        config = next
        fleetReloaded(base: base)
        backendsChanged(targetsChanged: true)
        applyRolloutReload(next, aborts: rolloutReload.aborts, splits: rolloutReload.held)
        log.info("reloaded \(configFile): generation \(generation)")
        for warning in next.warnings { log.warning("\(warning)") }
        return .success(generation)
    }

    /// Arms the ramp timer for the next step of any ramp, or leaves it idle.
    private func scheduleRampStep() {
        let now = MonotonicClock.now()
        publishEffectiveSplits()
        guard let due = ramps.nextStep(after: now) else { return }
        let timer = rampTimer ?? {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.setEventHandler { [unowned self] in self.rampStep() }
            timer.resume()
            rampTimer = timer
            return timer
        }()
        timer.schedule(deadline: .now() + .nanoseconds(Int(min(due - now, UInt64(Int.max)))))
    }

    /// One ramp step: new split weights to every worker, under the current generation.
    private func rampStep() {
        for change in ramps.step(now: MonotonicClock.now()) {
            for worker in workers {
                worker.mailbox.post(.setSplit(generation: generation, route: change.route, weights: change.weights))
            }
        }
        scheduleRampStep()
    }

    func publishEffectiveSplits() {
        let effective = ramps.effective
        adminState.update { $0.effectiveSplits = effective }
    }

    /// Posts `table` to every worker and waits until each has it in place: when a reload returns,
    /// every new request is routed under the new generation.
    private func publish(_ table: RoutingTable) {
        let group = DispatchGroup()
        for worker in workers {
            group.enter()
            worker.mailbox.post(.install(table, applied: { group.leave() }))
        }
        if group.wait(timeout: .now() + .seconds(5)) == .timedOut {
            log.warning("generation \(table.generation): a worker took over 5 s to take the new snapshot")
        }
    }

    /// Stops accepting, lets in-flight exchanges finish within `timeouts.shutdown`, then exits 0.
    /// SIGTERM: `/ready` turns 503 at once, and the listeners close only after
    /// `timeouts.shutdown_delay`, so an outer load balancer has moved away first. SIGINT (an
    /// operator at a terminal) skips the delay. Either way in-flight work then gets
    /// `timeouts.shutdown`.
    func stop(reason: String) {
        guard !stopping else {
            if reason == "SIGINT" { drainNow() }  // a second Ctrl-C does not wait out the delay
            return
        }
        stopping = true
        let delay = reason == "SIGINT" ? 0 : max(0, config.timeouts.shutdownDelay.nanoseconds)
        if delay > 0 {
            // During the delay the listeners still accept: keep-alive clients are told to
            // reconnect. Every worker has it before /ready turns 503 (the report waits behind it
            // in each mailbox), so no answer after that point lacks Connection: close.
            for worker in workers { worker.mailbox.post(.answerWithClose) }
            _ = gatherReports(timeout: .seconds(1))
        }
        adminState.update { $0.stopping = true }
        if !handedOver { SystemdNotify.send("STOPPING=1") }
        log.info("\(reason): stopping\(delay > 0 ? " after shutdown_delay \(config.timeouts.shutdownDelay)" : "")")
        if delay > 0 {
            queue.asyncAfter(deadline: .now() + .nanoseconds(Int(delay))) { [unowned self] in self.drainNow() }
        } else {
            drainNow()
        }
    }

    /// Closes the listeners and lets in-flight exchanges finish until `timeouts.shutdown`, then
    /// exits 0 once every worker has ended.
    func drainNow() {
        guard !draining else { return }
        draining = true
        let deadline = MonotonicClock.now() &+ UInt64(max(0, config.timeouts.shutdown.nanoseconds))
        for worker in workers { worker.mailbox.post(.stop(deadline: deadline, handedOver: handedOver)) }
        let threads = self.threads
        let workers = self.workers
        let admin = self.admin
        DispatchQueue.global().async {
            self.stopFleet()
            for thread in threads { thread.join() }
            self.flushAccessLog(timeout: .seconds(2))
            // An admin answer still being written (the 200 of the POST /upgrade that handed over)
            // gets out first, within 2 s.
            let until = MonotonicClock.now() &+ 2_000_000_000
            while let admin, admin.openConnections > 0, MonotonicClock.now() < until { usleep(10_000) }
            // The threads have ended: their series are safe to read.
            let total = WorkerMetrics.sum(workers.map(\.metrics))
            let answers = total.backendResponses.joined().reduce(0, +) + total.poolResponses.joined().reduce(0, +)
            log.info("stopped after \(answers) requests on \(total.connectionsAccepted.reduce(0, +)) connections (upstream errors: \(total.upstreamErrors.reduce(0, +)))")
            exit(0)
        }
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }

    fileprivate var failureDescription: String? {
        if case .failure(let error) = self { return "\(error)" }
        return nil
    }
}

import Balancer
import Config
import DataPlane
import Dispatch
import EventLoop
import HealthCheck
import Logging

/// The backend lifecycle on the control plane: health checks, slow start and deregistration
/// delay all end up as effective weights posted to the workers (`.setWeights`), stepped on a
/// timer, never computed per request.
extension Proxy {
    /// Starts the checker when any pool has a `health_check`.
    func startHealthChecks() throws(ConfigError) {
        let targets = try HealthTarget.targets(for: config, tls: tls.poolContexts)
        let checker: HealthChecker
        do {
            checker = try HealthChecker(onChange: { [unowned self] identity, state in
                self.queue.async { self.healthChanged(identity, to: state) }
            })
            try checker.start()
        } catch {
            throw ConfigError(SourceLocation(file: configFile, line: 1, column: 1), "cannot start the health checker: \(error)")
        }
        self.checker = checker
        if !healthSeeds.isEmpty { checker.seed(healthSeeds) }
        checker.configure(targets)
    }

    /// A health transition: the backend's weight changes; turning healthy starts its slow start.
    func healthChanged(_ identity: BackendIdentity, to state: HealthState) {
        let before = book.health[identity]
        book.health[identity] = state
        log.info("backend \(identity): \(before.map { "\($0)" } ?? "new") → \(state)")
        if state == .healthy {
            book.slowStartBegan[identity] = MonotonicClock.now()
        }
        backendsChanged()
    }

    /// Passive health: a worker saw a backend fail `consecutive_failures` times in a row.
    func passiveFailure(backendID: Int) {
        let now = MonotonicClock.now()
        let decision = book.passiveFailure(id: backendID, config: config, now: now)
        guard backendID < book.identities.count else { return }
        let identity = book.identities[backendID]
        switch decision {
        case .ejected(let until):
            log.warning("backend \(identity): ejected for \(Double(until - now) / 1e9)s (passive health: consecutive failures)")
            backendsChanged()
        case .refusedLastUsable:
            log.warning("backend \(identity): failing, but not ejected: it is the last usable backend of pool '\(identity.pool)'")
            backendsChanged()
        case .ignored:
            break
        }
    }

    /// Records what a reload does to backends: removed ones start draining (their health check
    /// keeps running so a re-add within the delay keeps its state), re-added ones stop draining,
    /// new ones begin their slow start (or, with a health check, begin it when they turn healthy).
    func noteBackendChanges(from old: CutoverConfig, to next: CutoverConfig, book: inout BackendBook, now: UInt64) {
        let nextIdentities = Set(next.pools.flatMap { pool in
            pool.backends.map { BackendIdentity(pool: pool.name, address: $0.address.description) }
        })
        for pool in old.pools {
            for backend in pool.backends {
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                guard !nextIdentities.contains(identity), book.draining[identity] == nil else { continue }
                let target = pool.healthCheck.flatMap { check in
                    SocketAddress.resolve(host: backend.address.host, port: backend.address.port)
                        .map { HealthTarget(identity: identity, address: $0, check: check,
                                            tls: HealthTarget.healthTLS(pool, backend, tls.poolContexts[pool.name])) }
                }
                book.draining[identity] = BackendBook.Drain(
                    deadline: now &+ UInt64(max(0, pool.deregistrationDelay.nanoseconds)),
                    id: book.id(for: identity), target: target)
            }
        }
        for identity in nextIdentities { book.draining[identity] = nil }
        Proxy.noteAdminDrains(next, book: &book, now: now)
        for pool in next.pools where pool.healthCheck == nil && pool.slowStart.nanoseconds > 0 {
            for backend in pool.backends {
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                if book.knownID(identity) == nil { book.slowStartBegan[identity] = now }
            }
        }
    }

    /// Backends with `state: drain` begin their drain when first seen so (at start or by a
    /// reload); one set active again forgets it.
    static func noteAdminDrains(_ config: CutoverConfig, book: inout BackendBook, now: UInt64) {
        var drained = Set<BackendIdentity>()
        for pool in config.pools {
            for backend in pool.backends where backend.state == .drain {
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                drained.insert(identity)
                if book.adminDrainBegan[identity] == nil { book.adminDrainBegan[identity] = now }
            }
        }
        for identity in Array(book.adminDrainBegan.keys) where !drained.contains(identity) { book.adminDrainBegan[identity] = nil }
    }

    /// Publishes the effective weights of the running config and arms the next step. The checker
    /// is told its targets again only when the set of backends changed (`targetsChanged`):
    /// building them resolves names, which a slow-start step must not do.
    func backendsChanged(targetsChanged: Bool = false) {
        let now = MonotonicClock.now()
        let weights = book.effectiveWeights(config, now: now)
        for worker in mailboxes { worker.post(.setWeights(generation: generation, weights: weights)) }
        if targetsChanged {
            checker?.configure(((try? HealthTarget.targets(for: config, tls: tls.poolContexts)) ?? [])
                               + book.draining.values.compactMap(\.target))
        }
        publishBackendStates(weights: weights, now: now)
        scheduleBackendStep(now: now)
    }

    /// Slow-start steps and the drain watch share one timer on the control queue.
    private func scheduleBackendStep(now: UInt64) {
        var due = book.nextSlowStartStep(config, after: now)
        if let end = book.nextEjectionEnd { due = min(due ?? end, end) }
        if !book.draining.isEmpty {
            let check = now &+ 250_000_000  // drained backends are noticed within a quarter second
            due = min(due ?? check, check)
        }
        guard let due else { return }
        let timer = backendTimer ?? {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.setEventHandler { [unowned self] in self.backendStep() }
            timer.resume()
            backendTimer = timer
            return timer
        }()
        // `due` may be past (an ejection that ended before this `now`): fire at once then; a
        // wrapped `due &- now` would put the timer off for ever.
        timer.schedule(deadline: .now() + .nanoseconds(Int(min(due > now ? due &- now : 0, UInt64(Int.max)))))
    }

    private func backendStep() {
        for identity in book.endEjections(now: MonotonicClock.now()) {
            log.info("backend \(identity): ejection over, back in rotation (slow start if configured)")
        }
        let ended = !book.draining.isEmpty && endFinishedDrains()
        backendsChanged(targetsChanged: ended)
    }

    /// A draining backend is done when its deadline passed or nothing is left on it.
    /// Returns whether any drain ended.
    private func endFinishedDrains() -> Bool {
        var ended = false
        let now = MonotonicClock.now()
        let reports = gatherReports(timeout: .milliseconds(200))
        for (identity, drain) in book.draining {
            let inFlight = reports.reduce(0) { $0 + Int(drain.id < $1.inFlight.count ? $1.inFlight[drain.id] : 0) }
            let connections = reports.reduce(0) { $0 + Int(drain.id < $1.connections.count ? $1.connections[drain.id] : 0) }
            if now >= drain.deadline || (inFlight == 0 && connections == 0 && reports.count == mailboxes.count) {
                book.draining[identity] = nil
                ended = true
                log.info("backend \(identity): drained\(now >= drain.deadline ? " (deregistration delay over)" : "")")
            }
        }
        return ended
    }

    /// Asks every worker for its gauges and waits briefly; callable from any thread.
    func gatherReports(timeout: DispatchTimeInterval) -> [WorkerReport] {
        let collected = ReportCollector()
        let group = DispatchGroup()
        for mailbox in mailboxes {
            group.enter()
            mailbox.post(.report(reply: { report in
                collected.add(report)
                group.leave()
            }))
        }
        _ = group.wait(timeout: .now() + timeout)
        return collected.reports
    }

    private func publishBackendStates(weights: [[Int]], now: UInt64) {
        var states: [BackendIdentity: String] = [:]
        var effective: [BackendIdentity: Int] = [:]
        var ids: [BackendIdentity: Int] = [:]
        for (p, pool) in config.pools.enumerated() {
            for (b, backend) in pool.backends.enumerated() {
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                states[identity] = book.state(identity, pool: pool)
                effective[identity] = weights[p][b]
                ids[identity] = book.knownID(identity)
            }
        }
        var draining: [BackendIdentity: AdminState.DrainInfo] = [:]
        for (identity, drain) in book.draining {
            draining[identity] = AdminState.DrainInfo(id: drain.id, secondsLeft: Double(drain.deadline &- min(now, drain.deadline)) / 1e9)
            ids[identity] = drain.id
        }
        var ejections: [BackendIdentity: AdminState.Ejection] = [:]
        for (identity, until) in book.ejectedUntil where until > now {
            ejections[identity] = .ejected(secondsLeft: Double(until - now) / 1e9)
        }
        for (identity, until) in book.ejectionRefusedUntil where until > now { ejections[identity] = .refusedLastUsable }
        var adminDrains: [BackendIdentity: UInt64] = [:]
        var slowStarts: [BackendIdentity: UInt64] = [:]
        for pool in config.pools where pool.slowStart.nanoseconds > 0 {
            for backend in pool.backends {
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                if let began = book.slowStartBegan[identity] { slowStarts[identity] = began &+ UInt64(pool.slowStart.nanoseconds) }
            }
        }
        for pool in config.pools {
            for backend in pool.backends where backend.state == .drain {
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                adminDrains[identity] = (book.adminDrainBegan[identity] ?? now) &+ UInt64(max(0, pool.deregistrationDelay.nanoseconds))
            }
        }
        adminState.update {
            $0.adminDrainDeadlines = adminDrains
            $0.slowStartEnds = slowStarts
            $0.ejections = ejections
            $0.backendStates = states
            $0.backendEffectiveWeights = effective
            $0.backendIDs = ids
            $0.draining = draining
            $0.labels = book.labels
            $0.backendIdentities = book.identities
        }
    }
}

/// Worker reports arriving on worker threads, collected under a lock.
final class ReportCollector: Sendable {
    private let lock = Locked<[WorkerReport]>([])
    func add(_ report: WorkerReport) { lock.withLock { $0.append(report) } }
    var reports: [WorkerReport] { lock.withLock { $0 } }
}

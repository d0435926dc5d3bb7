import Admin
import Config
import DataPlane
import Dispatch
import EventLoop
import Foundation
import HealthCheck
import Logging
import Metrics
import Rollout

/// A split a finished rollout put in force, held until the file says it too (the rewrite may have
/// failed) or an operator changes the route's split.
struct RolloutPin {
    var weights: [String: Int]
    /// The route's configured split when the pin was set: a reload that changes it ends the pin.
    var configured: [String: Int]
}

/// The automated canary on the control plane: commands, the look timer, the split it puts in
/// force, the file rewrite at the end, the state file and the webhook. Control queue only.
extension Proxy {
    /// Runs a rollout command (admin API or CLI through it).
    func rolloutCommand(route name: String, _ action: RolloutAction) -> Result<RolloutDocument, RolloutCommandError> {
        guard !stopping else { return .failure(.init(status: 503, description: "shutting down: no rollout commands")) }
        guard let route = config.route(named: name) else {
            let names = config.routes.map(\.name).joined(separator: ", ")
            return .failure(.init(status: 404, description: "no route '\(name)' (routes: \(names))"))
        }
        let now = MonotonicClock.now()
        let events: [RolloutEvent]
        if case .start(let canary, let baseline) = action {
            switch startRollout(route, canary: canary, baseline: baseline, now: now) {
            case .success(let started): events = started
            case .failure(let error): return .failure(error)
            }
            if fleet != nil, let refusal = claimFleetRollout(name) {
                rollouts[name] = nil
                return .failure(refusal)
            }
        } else {
            if let refusal = fleetRolloutRefusal(name) { return .failure(refusal) }
            guard var run = rollouts[name] else {
                return .failure(.init(status: 409, description: "no rollout on route \(name) since the proxy started"))
            }
            let readings = self.readings(for: run.machine)
            do throws(RolloutMachine.Refusal) {
                switch action {
                case .pause: events = try run.machine.pause(now: now)
                case .resume: events = try run.machine.resume(now: now, readings: readings)
                case .promote(let skip): events = try run.machine.promote(now: now, skipSteps: skip, readings: readings)
                case .abort: events = try run.machine.abort(reason: "aborted by an operator at \(run.machine.canaryShare) %: back to \(run.machine.baseline)")
                case .start: events = []
                }
            } catch {
                return .failure(.init(status: 409, description: error.description))
            }
            rollouts[name] = run
        }
        rolloutTransitions(name, events)
        return .success(rollouts[name]?.document ?? RolloutRun.idleDocument(route, policy: route.rollout ?? RolloutConfig()))
    }

    private func startRollout(_ route: RouteConfig, canary: String, baseline: String?,
                              now: UInt64) -> Result<[RolloutEvent], RolloutCommandError> {
        guard let policy = route.rollout else {
            return .failure(.init(status: 422, description: "route \(route.name) has no 'rollout:' policy in \(configFile); add one and reload"))
        }
        let pools = route.pools.map(\.name)
        guard pools.contains(canary) else {
            return .failure(.init(status: 422, description: "pool '\(canary)' is not one of route \(route.name)'s pools (\(pools.joined(separator: ", "))); add it to the split with weight 0 and reload"))
        }
        if let running = rollouts[route.name], running.machine.state.isActive {
            return .failure(.init(status: 409, description: "a rollout of \(running.machine.canary) on route \(route.name) is already \(running.machine.state.rawValue); abort it first"))
        }
        let effective = Dictionary(zip(pools, ramps.effective[route.name] ?? route.pools.map(\.weight)), uniquingKeysWith: { a, _ in a })
        let chosen: String
        if let baseline {
            guard pools.contains(baseline), baseline != canary else {
                return .failure(.init(status: 422, description: "baseline '\(baseline)' must be another of route \(route.name)'s pools (\(pools.joined(separator: ", ")))"))
            }
            chosen = baseline
        } else {
            let carrying = pools.filter { $0 != canary && (effective[$0] ?? 0) > 0 }
            guard carrying.count == 1, let only = carrying.first else {
                let why = carrying.isEmpty ? "no other pool carries its traffic now" : "\(carrying.joined(separator: " and ")) all carry traffic now"
                return .failure(.init(status: 422, description: "route \(route.name): \(why); name the baseline with --baseline"))
            }
            chosen = only
        }
        guard let canaryPool = config.pool(named: canary), !canaryPool.backends.isEmpty else {
            return .failure(.init(status: 422, description: "pool '\(canary)' has no backends"))
        }
        let machine = RolloutMachine(route: route.name, canary: canary, baseline: chosen, policy: RolloutPolicy(policy), now: now)
        rollouts[route.name] = RolloutRun(machine: machine, now: Date())
        rolloutPins[route.name] = nil
        let steps = policy.steps.map { "\($0)" }.joined(separator: ", ")
        return .success([RolloutEvent(.started, "rollout of \(canary) against \(chosen) started (steps \(steps) %): \(machine.reason)")])
    }

    /// The counters of both pools of `machine`, summed over the workers.
    func readings(for machine: RolloutMachine, from reports: [WorkerReport]? = nil) -> RolloutMachine.Readings {
        let reports = reports ?? gatherReports(timeout: .seconds(1))
        let sampler = RolloutSampler(totals: WorkerMetrics.sum(reports.map(\.metrics)), labels: book.labels, book: book, config: config)
        return .init(canary: sampler.sample(route: machine.route, pool: machine.canary),
                     baseline: sampler.sample(route: machine.route, pool: machine.baseline))
    }

    /// One look at a route's rollout (its timer).
    /// With `fleetReadings` (a fleet rollout's leader): the fleet's summed counts.
    func rolloutLook(_ name: String, fleetReadings: RolloutMachine.Readings? = nil) {
        guard var run = rollouts[name], run.machine.state.isActive, !stopping else { return }
        let readings: RolloutMachine.Readings
        if let fleetReadings {
            readings = fleetReadings
        } else {
            let reports = gatherReports(timeout: .seconds(1))
            guard reports.count == mailboxes.count else {
                log.warning("rollout \(name): a worker did not report in time; look skipped")
                return
            }
            readings = self.readings(for: run.machine, from: reports)
        }
        let judge = run.judge
        let looksBefore = run.machine.looks
        let events = run.machine.tick(now: MonotonicClock.now(), canaryReady: canaryReady(run.machine.canary), readings: readings,
                                      judge: { judge.judge(canary: $0, baseline: $1, look: $2) })
        if run.machine.looks != looksBefore || run.machine.lastJudgement?.verdict == .insufficient { run.recordVerdict(at: Date()) }
        rollouts[name] = run
        rolloutTransitions(name, events)
        if events.isEmpty {
            saveRollouts()
            publishRollouts()
        }
    }

    /// Every canary backend is out of `checking`, and the usable ones are past slow start (at
    /// their full weight); at least one is usable.
    private func canaryReady(_ pool: String) -> Bool {
        guard let poolConfig = config.pool(named: pool) else { return false }
        let now = MonotonicClock.now()
        var usable = false
        for backend in poolConfig.backends {
            let identity = BackendIdentity(pool: pool, address: backend.address.description)
            if book.state(identity, pool: poolConfig) == "checking" { return false }
            let weight = book.effectiveWeight(identity, backend: backend, pool: poolConfig, now: now)
            if weight == 0 { continue }
            if weight < backend.weight * 1000 { return false }
            usable = true
        }
        return usable
    }

    /// Acts on a rollout's transitions: the split, log lines, history, webhook, metrics, the
    /// file at the end, the state file. `byReload`: a reload ended it, so the split the reload
    /// installed (the operator's file) serves as it is.
    func rolloutTransitions(_ name: String, _ events: [RolloutEvent], byReload: Bool = false) {
        guard var run = rollouts[name] else { return }
        let now = Date()
        for event in events {
            run.record(event, at: now)
            log.info("rollout \(name): \(event.kind.rawValue): \(event.reason)")
            switch event.kind {
            case .promoted: countRolloutResult(name, "promoted")
            case .rolledBack: countRolloutResult(name, "rolled_back")
            case .aborted: countRolloutResult(name, "aborted")
            default: break
            }
            if let target = config.route(named: name)?.rollout?.notify {
                notifier.send(RolloutNotification(event: event.kind.rawValue, route: name, canary: run.machine.canary,
                                                  baseline: run.machine.baseline, state: run.machine.state.rawValue,
                                                  step: run.machine.stepIndex + 1, canaryWeight: run.machine.canaryShare,
                                                  reason: event.reason, at: ISO8601.string(now), generation: generation), to: target)
            }
        }
        rollouts[name] = run
        if !events.isEmpty && !byReload {
            applyRolloutSplit(run.machine)
            if !run.machine.state.isActive && !leadsFleetRollout(name) { writeFinalSplit(run.machine) }
        }
        scheduleRolloutLook(name)
        saveRollouts()
        publishRollouts()
    }

    /// The route's weights (in config order) for a rollout's canary share: canary and baseline
    /// share 100, every other pool of the route 0.
    func rolloutWeights(_ machine: RolloutMachine, route: RouteConfig) -> [String: Int] {
        let share = machine.canaryShare
        var weights: [String: Int] = [:]
        for pool in route.pools {
            weights[pool.name] = pool.name == machine.canary ? share : pool.name == machine.baseline ? 100 - share : 0
        }
        return weights
    }

    /// Puts the rollout's split in force on every worker and waits until each has it, so when a
    /// rollback returns no new request goes to the canary.
    private func applyRolloutSplit(_ machine: RolloutMachine) {
        guard let route = config.route(named: machine.route) else { return }
        let byName = rolloutWeights(machine, route: route)
        let weights = route.pools.map { byName[$0.name] ?? 0 }
        let fleetLed = leadsFleetRollout(machine.route)
        if !machine.state.isActive && !fleetLed {
            rolloutPins[machine.route] = RolloutPin(weights: byName, configured: Dictionary(route.pools.map { ($0.name, $0.weight) }, uniquingKeysWith: { a, _ in a }))
        }
        ramps.pin(route: machine.route, weights: weights)
        let group = DispatchGroup()
        for mailbox in mailboxes {
            group.enter()
            mailbox.post(.setSplit(generation: generation, route: machine.route, weights: weights, applied: { group.leave() }))
        }
        if group.wait(timeout: .now() + .seconds(5)) == .timedOut {
            log.warning("rollout \(machine.route): a worker took over 5 s to take the new split")
        }
        publishEffectiveSplits()
        // A fleet rollout's split goes to every instance as a generation (this one has it now).
        if fleetLed { writeFleetRolloutSplit(machine, weights: byName) }
    }

    /// The finished rollout's split into the config file (only the route's weights change:
    /// layout and comments stay), then a reload, so a later reload cannot bring the canary back.
    /// A file that cannot be rewritten is logged; the split stays pinned until the operator edits it.
    private func writeFinalSplit(_ machine: RolloutMachine) {
        guard let route = config.route(named: machine.route) else { return }
        let byName = rolloutWeights(machine, route: route)
        let weights = route.pools.map { byName[$0.name] ?? 0 }
        let written: Bool
        do throws(RolloutFileError) {
            written = try rewriteSplit(route: machine.route, weights: weights)
        } catch {
            log.error("rollout \(machine.route): \(error); the split stays \(describe(byName, route)) until \(configFile) says otherwise")
            return
        }
        guard written else { return }
        log.info("rollout \(machine.route): \(configFile) rewritten: \(describe(byName, route))")
        let outcome = reloadReporting()
        if case .failure(let error) = outcome.result {
            log.error("rollout \(machine.route): \(configFile) was rewritten but its reload was rejected (\(error)); the split stays \(describe(byName, route))")
        }
    }

    private func describe(_ weights: [String: Int], _ route: RouteConfig) -> String {
        route.pools.map { "\($0.name) \(weights[$0.name] ?? 0)" }.joined(separator: ", ")
    }

    struct RolloutFileError: Error, CustomStringConvertible {
        var description: String
    }

    /// Rewrites `route`'s split in the config file, checked by parsing the result (as `cutover
    /// switch` does). Nothing is written when the file already says it.
    private func rewriteSplit(route name: String, weights: [Int]) throws(RolloutFileError) -> Bool {
        let bytes: [UInt8]
        do { bytes = try ConfigFile.read(configFile) } catch { throw RolloutFileError(description: error.description) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RolloutFileError(description: "\(configFile) is not UTF-8 text; its split was not rewritten")
        }
        let onDisk: CutoverConfig
        do { onDisk = try ConfigLoader.parse(yaml: text, file: configFile) } catch {
            throw RolloutFileError(description: "\(configFile) does not load (\(error)); its split was not rewritten")
        }
        guard let route = onDisk.route(named: name) else {
            throw RolloutFileError(description: "\(configFile) has no route '\(name)' any more; its split was not rewritten")
        }
        guard route.pools.map(\.weight) != weights else { return false }
        let newText: String
        do {
            newText = try SplitRewrite.rewrite(text, route: route, weights: weights, ramp: nil)
            _ = try SplitRewrite.verify(newText, old: onDisk, route: name, weights: weights, ramp: nil)
        } catch {
            throw RolloutFileError(description: "cannot rewrite route \(name)'s split in \(configFile): \(error)")
        }
        guard (try? ConfigFile.read(configFile)) == bytes else {
            throw RolloutFileError(description: "\(configFile) changed while its split was being rewritten; nothing was written")
        }
        do { try ConfigFile.replace(configFile, with: Array(newText.utf8)) } catch {
            throw RolloutFileError(description: error.description)
        }
        return true
    }

    /// Arms (or disarms) the look timer of a route's rollout.
    private func scheduleRolloutLook(_ name: String) {
        guard let run = rollouts[name], run.machine.state.isActive else {
            rolloutTimers[name]?.cancel()
            rolloutTimers[name] = nil
            return
        }
        // A fleet rollout is looked at by the fleet's ticker, on the fleet's counts.
        guard rolloutTimers[name] == nil, fleet == nil else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = Int(min(run.machine.policy.interval, UInt64(Int.max)))
        timer.schedule(deadline: .now() + .nanoseconds(interval), repeating: .nanoseconds(interval), leeway: .milliseconds(10))
        timer.setEventHandler { [unowned self] in self.rolloutLook(name) }
        timer.resume()
        rolloutTimers[name] = timer
    }

    private func countRolloutResult(_ route: String, _ result: String) {
        adminState.update { $0.rolloutResults[route, default: [:]][result, default: 0] += 1 }
    }

    /// The documents `/rollouts` and `/status` show: every route with a policy or a rollout.
    func publishRollouts() {
        var documents: [RolloutDocument] = []
        for route in config.routes {
            let followed = fleet?.followedRollouts[route.name]
            if let run = rollouts[route.name], followed == nil {
                var document = run.document
                if let fleet, leadsFleetRollout(route.name) { document.leader = fleet.cluster.instance }
                documents.append(document)
            } else if let followed, let policy = route.rollout {
                documents.append(followedRolloutDocument(followed, route: route, policy: policy))
            } else if let policy = route.rollout {
                documents.append(RolloutRun.idleDocument(route, policy: policy))
            }
        }
        adminState.update { $0.rollouts = documents }
    }

    /// Writes the rollouts still running to the state file.
    func saveRollouts() {
        saveFleetRollouts()
        guard fleet == nil else { return }
        let active = rollouts.values.filter { $0.machine.state.isActive }
            .map { RolloutStateFile.Saved(machine: $0.machine.persisted, startedAt: $0.startedAt, history: $0.history) }
            .sorted { $0.machine.route < $1.machine.route }
        guard !active.isEmpty || savedAny else { return }
        savedAny = !active.isEmpty
        if let error = RolloutStateFile(directory: config.stateDirectory).save(active) {
            log.error("\(error)")
        }
    }

    /// At start-up: resumes the rollouts the state file holds, each at the step it was in, when
    /// the config still has its route, policy and pools.
    func resumeRollouts() {
        // In a fleet, a rollout's state is in etcd; another instance resumes it when this one dies.
        guard fleet == nil else {
            startFleetRollouts()
            return
        }
        let file = RolloutStateFile(directory: config.stateDirectory)
        let saved: [RolloutStateFile.Saved]
        switch file.load() {
        case .success(let list): saved = list
        case .failure(let error):
            log.error("\(error); no rollout resumed")
            return
        }
        savedAny = !saved.isEmpty
        let now = MonotonicClock.now()
        for record in saved where record.machine.state.isActive {
            let entry = record.machine
            guard let route = config.route(named: entry.route), let policy = route.rollout,
                  route.pools.contains(where: { $0.name == entry.canary }),
                  route.pools.contains(where: { $0.name == entry.baseline }) else {
                log.warning("rollout \(entry.route): not resumed: the config no longer has that route with a rollout policy and pools \(entry.canary) and \(entry.baseline)")
                continue
            }
            let machine = RolloutMachine(resuming: entry, policy: RolloutPolicy(policy), now: now)
            var run = RolloutRun(machine: machine, now: Date())
            run.startedAt = record.startedAt
            run.history = record.history
            rollouts[entry.route] = run
            rolloutTransitions(entry.route, [RolloutEvent(.resumed, machine.reason)])
        }
        publishRollouts()
    }

    /// Reload rules, decided against the new config before it is applied: a route removed, a
    /// pool of the rollout removed from the route, the route's split or policy changed → the
    /// rollout is aborted (the operator has taken over). Returns the reasons by route.
    func rolloutAborts(from old: CutoverConfig, to next: CutoverConfig) -> [String: String] {
        var aborts: [String: String] = [:]
        for (name, run) in rollouts where run.machine.state.isActive {
            let m = run.machine
            guard let was = old.route(named: name), let now = next.route(named: name) else {
                aborts[name] = "the reload removed route \(name): rollout aborted"
                continue
            }
            let pools = now.pools.map(\.name)
            if let missing = [m.canary, m.baseline].first(where: { !pools.contains($0) }) {
                aborts[name] = "the reload removed pool \(missing) from route \(name): rollout aborted"
            } else if was.pools.map(\.name) != pools
                        || (was.pools.map(\.weight) != now.pools.map(\.weight) && fleet?.applyingRolloutGeneration != true) {
                let split = now.pools.map { "\($0.name) \($0.weight)" }.joined(separator: ", ")
                aborts[name] = "the reload changed route \(name)'s split to \(split): the operator has taken over, rollout aborted"
            } else if was.rollout != now.rollout {
                aborts[name] = "the reload changed route \(name)'s rollout policy: rollout aborted (start it again to use the new policy)"
            }
        }
        return aborts
    }

    /// The splits rollouts hold (running ones, and pins of finished ones the file does not say
    /// yet) for the routes of `next`, in each route's pool order; pins a reload ended are dropped.
    func rolloutSplits(for next: CutoverConfig, aborting aborts: [String: String]) -> [String: [Int]] {
        var splits: [String: [Int]] = [:]
        for route in next.routes {
            if let run = rollouts[route.name], run.machine.state.isActive, aborts[route.name] == nil {
                let byName = rolloutWeights(run.machine, route: route)
                splits[route.name] = route.pools.map { byName[$0.name] ?? 0 }
            } else if let pin = rolloutPins[route.name],
                      Dictionary(route.pools.map { ($0.name, $0.weight) }, uniquingKeysWith: { a, _ in a }) == pin.configured {
                splits[route.name] = route.pools.map { pin.weights[$0.name] ?? 0 }
            }
        }
        return splits
    }

    /// After a reload was applied: pins it ended are dropped, aborted rollouts end (without
    /// touching the file: it is the operator's now).
    func applyRolloutReload(_ next: CutoverConfig, aborts: [String: String], splits: [String: [Int]]) {
        for name in Array(rolloutPins.keys) where splits[name] == nil || rollouts[name]?.machine.state.isActive == true {
            rolloutPins[name] = nil
        }
        for (name, reason) in aborts {
            guard var run = rollouts[name], let events = try? run.machine.abort(reason: reason) else { continue }
            rollouts[name] = run
            rolloutTransitions(name, events, byReload: true)
        }
        for name in rollouts.keys where next.route(named: name) == nil && !(rollouts[name]?.machine.state.isActive ?? false) {
            rollouts[name] = nil
        }
        publishRollouts()
    }
}

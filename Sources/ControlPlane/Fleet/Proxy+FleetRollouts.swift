import Admin
import Config
import DataPlane
import Dispatch
import EventLoop
import Fleet
import Foundation
import Logging
import Metrics
import Rollout

/// `PREFIX/rollouts/ROUTE/state`: a fleet rollout's state, written by its leader at every change
/// and every look, read by the instance that takes over when the leader's lease ends.
struct FleetRolloutState: Codable, Equatable {
    var leader: String
    var machine: RolloutMachine.Persisted
    var startedAt: Date
    var history: [RolloutDocument.HistoryEntry]

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }

    static func decode(_ bytes: [UInt8]) -> FleetRolloutState? { try? JSONDecoder().decode(FleetRolloutState.self, from: Data(bytes)) }
}

/// `PREFIX/rollouts/ROUTE/counts/INSTANCE`: one instance's cumulative counters of the rollout's
/// pools (since it started), what `PoolSample` holds.
struct FleetRolloutCounts: Codable {
    struct Pool: Codable {
        var requests: UInt64
        var errors: UInt64
        var latency: [UInt64]
    }

    var instance: String
    /// The rollout counted for: its start (seconds since 1970), so counts a previous rollout left
    /// behind are not taken for this one's.
    var rollout: Double
    var pools: [String: Pool]

    func encoded() -> [UInt8] { Array((try? JSONEncoder().encode(self)) ?? Data("{}".utf8)) }
    static func decode(_ bytes: [UInt8]) -> FleetRolloutCounts? { try? JSONDecoder().decode(FleetRolloutCounts.self, from: Data(bytes)) }

    func sample(_ pool: String) -> PoolSample {
        guard let p = pools[pool] else { return PoolSample() }
        return PoolSample(requests: p.requests, errors: p.errors, latencyCounts: p.latency)
    }
}

/// The fleet's counters of one rollout as its leader sums them: each instance's counters are
/// taken as increments over what was seen of it last (a counter that went back — a restarted
/// instance — counts from 0 again), so an instance that leaves does not take its past with it.
/// The first reading of an instance only sets where its increments start (its traffic before
/// the leader saw it is not the step's).
struct FleetRolloutTotals {
    var last: [String: [String: PoolSample]] = [:]
    var total: [String: PoolSample] = [:]

    mutating func add(_ counts: [FleetRolloutCounts], pools: [String]) {
        let seen = last
        for entry in counts {
            for pool in pools {
                let now = entry.sample(pool)
                last[entry.instance, default: [:]][pool] = now
                guard let before = seen[entry.instance]?[pool] else { continue }
                let delta = now.requests >= before.requests ? now.since(before) : now
                total[pool] = FleetRolloutTotals.plus(total[pool] ?? PoolSample(), delta)
            }
        }
    }

    static func plus(_ a: PoolSample, _ b: PoolSample) -> PoolSample {
        var latency = a.latencyCounts.count >= b.latencyCounts.count ? a.latencyCounts : b.latencyCounts
        let other = a.latencyCounts.count >= b.latencyCounts.count ? b.latencyCounts : a.latencyCounts
        for i in other.indices { latency[i] &+= other[i] }
        return PoolSample(requests: a.requests &+ b.requests, errors: a.errors &+ b.errors, latencyCounts: latency)
    }
}

/// Rollouts across the fleet (`cluster:` set): one instance leads each route's rollout — the one
/// holding `PREFIX/rollouts/ROUTE/leader` under its lease — and judges the sum of every live
/// instance's counts; each step's split goes out as a fleet generation, so every instance
/// applies it. Its state is kept in etcd, so when the leader dies (its lease ends) another
/// instance takes the key and resumes from there. Every instance publishes its counts each look.
extension Proxy {
    /// Whether a route's rollout is run by this instance as the fleet's leader (control queue).
    func leadsFleetRollout(_ route: String) -> Bool { fleet?.rolloutLeads[route] != nil }

    /// At start: the fleet's rollout ticker (every instance publishes counts; leaders look).
    func startFleetRollouts() {
        guard let runtime = fleet else { return }
        let intervals = config.routes.compactMap { $0.rollout.map { RolloutPolicy($0).interval } }
        let interval = max(UInt64(100_000_000), min(intervals.min() ?? 1_000_000_000, 2_000_000_000))
        let timer = DispatchSource.makeTimerSource(queue: runtime.rolloutQueue)
        timer.schedule(deadline: .now() + .nanoseconds(Int(interval)), repeating: .nanoseconds(Int(interval)), leeway: .milliseconds(10))
        timer.setEventHandler { [unowned self] in self.fleetRolloutTick() }
        timer.resume()
        runtime.rolloutTicker = timer
    }

    func stopFleetRollouts() {
        queue.sync { fleet?.rolloutTicker?.cancel() }
    }

    /// Claims the leadership of a rollout just started here: put-if-absent of the leader key
    /// (under this instance's lease) with the state, in one transaction. A reason when refused.
    func claimFleetRollout(_ name: String) -> RolloutCommandError? {
        guard let runtime = fleet, let run = rollouts[name] else { return nil }
        guard let agent = runtime.agent, let lease = agent.lease else {
            return .init(status: 503, description: "this instance has no etcd lease yet (etcd unreachable?); the fleet rollout was not started")
        }
        let keys = FleetKeys(prefix: runtime.cluster.prefix)
        do throws(EtcdError) {
            let stored = try agent.client.get(keys.rolloutState(name)).value
            if let stored, let state = FleetRolloutState.decode(stored.value), state.machine.state.isActive {
                return .init(status: 409, description: "a fleet rollout of \(state.machine.canary) on route \(name) is already \(state.machine.state.rawValue) (led by \(state.leader)); abort it there first")
            }
            let state = FleetRolloutState(leader: runtime.cluster.instance, machine: run.machine.persisted, startedAt: run.startedAt, history: run.history)
            let result = try agent.client.txn(
                [.version(key: keys.rolloutLeader(name), equals: 0),
                 stored.map { .modRevision(key: keys.rolloutState(name), equals: $0.modRevision) } ?? .version(key: keys.rolloutState(name), equals: 0)],
                success: [.put(key: keys.rolloutLeader(name), value: Array(runtime.cluster.instance.utf8), lease: lease),
                          .put(key: keys.rolloutState(name), value: state.encoded(), lease: nil)],
                failure: [.get(key: keys.rolloutLeader(name))])
            guard result.succeeded else {
                let holder = result.values.first?.text ?? "?"
                return .init(status: 409, description: "route \(name)'s fleet rollout is led by \(holder); run the command there")
            }
            runtime.rolloutLeads[name] = result.revision
            runtime.rolloutTotals[name] = FleetRolloutTotals()
            runtime.rolloutWrittenSplit[name] = nil
            return nil
        } catch {
            return .init(status: 503, description: "etcd: \(error); the fleet rollout was not started")
        }
    }

    /// A command on a rollout this instance does not lead: who does.
    func fleetRolloutRefusal(_ name: String) -> RolloutCommandError? {
        guard let runtime = fleet, runtime.rolloutLeads[name] == nil, let agent = runtime.agent else { return nil }
        let keys = FleetKeys(prefix: runtime.cluster.prefix)
        let holder = (try? agent.client.get(keys.rolloutLeader(name)).value)?.map(\.text) ?? nil
        return .init(status: 409, description: holder.map { "route \(name)'s fleet rollout is led by \($0); run the command there (its admin API)" }
                     ?? "no fleet rollout on route \(name) is led by this instance")
    }

    /// Puts a fleet rollout's split in force across the fleet: a new generation with the route's
    /// split (what `cutover switch` writes). Skipped when the generation in force has it already,
    /// and when someone else changed the route's split since the rollout last wrote it (an
    /// operator's switch: this instance aborts the rollout when it applies that generation).
    func writeFleetRolloutSplit(_ machine: RolloutMachine, weights: [String: Int]) {
        guard let runtime = fleet else { return }
        let writer = FleetWriter(cluster: runtime.cluster)
        for _ in 0..<3 {
            do throws(FleetCommandFailure) {
                let current = try writer.current()
                let inForce = current.document?.routes[machine.route]?.pools
                if inForce == weights {
                    runtime.rolloutWrittenSplit[machine.route] = weights
                    return
                }
                if let written = runtime.rolloutWrittenSplit[machine.route], inForce != written {
                    let by = current.document?.writtenBy ?? "?"
                    log.warning("rollout \(machine.route): generation \(current.generation) (\(by)) changed the route's split since the rollout wrote it; not overwritten")
                    return
                }
                var next = current.document?.next(writtenBy: FleetWriter.writer("cutover rollout \(machine.route) \(machine.canary) at \(machine.canaryShare) %"))
                    ?? FleetDocument(generation: 1, previous: nil, writtenBy: FleetWriter.writer("cutover rollout \(machine.route) \(machine.canary) at \(machine.canaryShare) %"))
                next.routes[machine.route] = .init(pools: weights, ramp: nil)
                _ = try writer.write(next, over: current)
                runtime.rolloutWrittenSplit[machine.route] = weights
                log.info("rollout \(machine.route): fleet generation \(next.generation) written: canary \(machine.canary) at \(machine.canaryShare) %")
                return
            } catch {
                log.warning("rollout \(machine.route): fleet generation not written: \(error)")
                if error.unreachable { return }
            }
        }
    }

    /// Writes the state of each rollout this instance leads, guarded by its leader key; a
    /// finished one releases the key. Leadership found lost: the local run is dropped.
    func saveFleetRollouts() {
        guard let runtime = fleet, let agent = runtime.agent else { return }
        let keys = FleetKeys(prefix: runtime.cluster.prefix)
        for (name, revision) in runtime.rolloutLeads {
            guard let run = rollouts[name] else { continue }
            let state = FleetRolloutState(leader: runtime.cluster.instance, machine: run.machine.persisted, startedAt: run.startedAt, history: run.history)
            var success: [EtcdOperation] = [.put(key: keys.rolloutState(name), value: state.encoded(), lease: nil)]
            if !run.machine.state.isActive { success.append(.delete(key: keys.rolloutLeader(name))) }
            do throws(EtcdError) {
                let result = try agent.client.txn([.modRevision(key: keys.rolloutLeader(name), equals: revision)], success: success)
                if !result.succeeded {
                    dropFleetRollout(name, why: "its leader key is no longer this instance's")
                } else if !run.machine.state.isActive {
                    runtime.rolloutLeads[name] = nil
                    runtime.rolloutTotals[name] = nil
                }
            } catch {
                log.warning("rollout \(name): state not written to etcd (\(error)); tried again at the next look")
            }
        }
    }

    /// Another instance leads now: this one stops running the rollout (and only publishes counts).
    func dropFleetRollout(_ name: String, why: String) {
        guard let runtime = fleet, runtime.rolloutLeads[name] != nil else { return }
        runtime.rolloutLeads[name] = nil
        runtime.rolloutTotals[name] = nil
        rolloutTimers[name]?.cancel()
        rolloutTimers[name] = nil
        rollouts[name] = nil
        log.warning("rollout \(name): no longer led here (\(why))")
        publishRollouts()
    }

    /// This instance's cumulative counters of `pools` on `route` (control queue).
    private func fleetLocalCounts(route: String, pools: [String], rollout: Double) -> FleetRolloutCounts {
        let reports = gatherReports(timeout: .seconds(1))
        let sampler = RolloutSampler(totals: WorkerMetrics.sum(reports.map(\.metrics)), labels: book.labels, book: book, config: config)
        var counts = FleetRolloutCounts(instance: fleet?.cluster.instance ?? "?", rollout: rollout, pools: [:])
        for pool in pools {
            let s = sampler.sample(route: route, pool: pool)
            counts.pools[pool] = .init(requests: s.requests, errors: s.errors, latency: s.latencyCounts)
        }
        return counts
    }

    /// One round (the ticker's queue): reads the fleet's rollouts; for each running one,
    /// publishes this instance's counts, and looks (leader), takes over (no leader), or gives up
    /// (another leads).
    private func fleetRolloutTick() {
        guard let (runtime, routes) = queue.sync(execute: { () -> (FleetRuntime, [String])? in
            guard let runtime = fleet, runtime.agent != nil, !stopping else { return nil }
            return (runtime, config.routes.filter { $0.rollout != nil }.map(\.name))
        }), !routes.isEmpty, let agent = runtime.agent else { return }
        let keys = FleetKeys(prefix: runtime.cluster.prefix)
        let me = runtime.cluster.instance
        let listed: [EtcdKeyValue]
        do { listed = try agent.client.list(prefix: keys.rollouts, timeout: 2).values } catch { return }
        let lease = agent.lease
        var followed: [String: FleetRolloutState] = [:]
        defer { queue.sync { showFollowedRollouts(followed) } }
        for route in routes {
            guard let stored = listed.first(where: { $0.key == keys.rolloutState(route) }),
                  let state = FleetRolloutState.decode(stored.value) else { continue }
            if state.leader != me { followed[route] = state }
            guard state.machine.state.isActive else { continue }
            let pools = [state.machine.canary, state.machine.baseline]
            let tag = state.startedAt.timeIntervalSince1970
            let mine = queue.sync { fleetLocalCounts(route: route, pools: pools, rollout: tag) }
            if let lease { _ = try? agent.client.put(keys.rolloutCounts(route, instance: me), mine.encoded(), lease: lease, timeout: 2) }
            let others = listed.filter { $0.key.hasPrefix(keys.rolloutCounts(route)) && $0.key != keys.rolloutCounts(route, instance: me) }
                .compactMap { FleetRolloutCounts.decode($0.value) }.filter { $0.rollout == tag }
            let leader = listed.first(where: { $0.key == keys.rolloutLeader(route) })
            if let leader {
                if leader.text == me, leader.lease == lease {
                    queue.sync { fleetLook(route, counts: others + [mine], leaderRevision: leader.modRevision, state: state) }
                } else {
                    queue.sync { dropFleetRollout(route, why: "\(leader.text) holds \(keys.rolloutLeader(route))") }
                }
            } else if let lease {
                guard let result = try? agent.client.txn(
                    // The state read is still the state: nobody took over and finished meanwhile.
                    [.version(key: keys.rolloutLeader(route), equals: 0), .modRevision(key: keys.rolloutState(route), equals: stored.modRevision)],
                    success: [.put(key: keys.rolloutLeader(route), value: Array(me.utf8), lease: lease)]), result.succeeded else { continue }
                queue.sync {
                    log.info("rollout \(route): leader \(state.leader) gone; this instance (\(me)) takes the rollout over")
                    runtime.rolloutLeads[route] = result.revision
                    fleetResume(route, state: state)
                }
            }
        }
    }

    /// The fleet rollouts other instances lead, for `/rollouts` here (control queue).
    private func showFollowedRollouts(_ followed: [String: FleetRolloutState]) {
        guard let runtime = fleet else { return }
        let shown = followed.filter { rollouts[$0.key] == nil || !leadsFleetRollout($0.key) }
        guard shown != runtime.followedRollouts else { return }
        runtime.followedRollouts = shown
        publishRollouts()
    }

    /// A rollout another instance leads, as its last state in etcd says: the step, the split this
    /// instance has in force for it, the history; samples and verdicts stay with the leader.
    func followedRolloutDocument(_ state: FleetRolloutState, route: RouteConfig, policy: RolloutConfig) -> RolloutDocument {
        var document = RolloutRun.idleDocument(route, policy: policy)
        let m = state.machine
        document.canary = m.canary
        document.baseline = m.baseline
        document.state = m.state.rawValue
        document.step = m.stepIndex + 1
        document.pausedOnFailure = m.state == .paused && m.pausedOnFailure
        document.canaryWeight = route.pools.first { $0.name == m.canary }?.weight ?? 0
        document.stepSeconds = Double(m.stepClock) / 1e9
        document.looks = m.looks
        document.reason = m.reason
        document.history = state.history
        document.startedAt = ISO8601.string(state.startedAt)
        document.leader = state.leader
        return document
    }

    /// The leader's look at a route's rollout, on the fleet's summed counts (control queue).
    private func fleetLook(_ route: String, counts: [FleetRolloutCounts], leaderRevision: Int64, state: FleetRolloutState) {
        guard let runtime = fleet, !stopping else { return }
        guard let run = rollouts[route] else {
            // The key is this instance's but it runs nothing (it restarted within its lease?).
            runtime.rolloutLeads[route] = leaderRevision
            fleetResume(route, state: state)
            return
        }
        // Finished here since the round read etcd (the key is released): nothing to look at.
        guard run.machine.state.isActive, runtime.rolloutLeads[route] != nil else { return }
        runtime.rolloutLeads[route] = leaderRevision
        let pools = [run.machine.canary, run.machine.baseline]
        var totals = runtime.rolloutTotals[route] ?? FleetRolloutTotals()
        totals.add(counts, pools: pools)
        runtime.rolloutTotals[route] = totals
        let now = MonotonicClock.now()
        if let last = runtime.rolloutLastLook[route], now &- last < run.machine.policy.interval * 9 / 10 { return }
        runtime.rolloutLastLook[route] = now
        let readings = RolloutMachine.Readings(canary: totals.total[run.machine.canary] ?? PoolSample(),
                                               baseline: totals.total[run.machine.baseline] ?? PoolSample())
        rolloutLook(route, fleetReadings: readings)
    }

    /// Takes over a rollout from its state in etcd, at the step it was in (control queue).
    private func fleetResume(_ route: String, state: FleetRolloutState) {
        guard let runtime = fleet else { return }
        let entry = state.machine
        guard let routeConfig = config.route(named: route), let policy = routeConfig.rollout,
              routeConfig.pools.contains(where: { $0.name == entry.canary }),
              routeConfig.pools.contains(where: { $0.name == entry.baseline }) else {
            log.error("rollout \(route): cannot take the fleet rollout over: this instance's config lacks the route, its policy or pools \(entry.canary) and \(entry.baseline)")
            runtime.rolloutLeads[route] = nil
            return
        }
        let machine = RolloutMachine(resuming: entry, policy: RolloutPolicy(policy), now: MonotonicClock.now())
        var run = RolloutRun(machine: machine, now: Date())
        run.startedAt = state.startedAt
        run.history = state.history
        rollouts[route] = run
        runtime.rolloutTotals[route] = FleetRolloutTotals()
        runtime.rolloutLastLook[route] = nil
        runtime.rolloutWrittenSplit[route] = nil
        rolloutPins[route] = nil
        rolloutTransitions(route, [RolloutEvent(.resumed, "taken over by \(runtime.cluster.instance) from \(state.leader): \(machine.reason)")])
    }
}

import Admin
import Config
import EventLoop
import Foundation
import HealthCheck

extension AdminStatus {
    /// A ramp's weights (parts per million) expressed on the configured weights' scale, so both
    /// columns read alike; a pool that gets any share keeps at least 1.
    static func rescale(_ weights: [Int]?, like configured: [Int]) -> [Int] {
        guard let weights, weights.count == configured.count else { return configured }
        let total = weights.reduce(0, +)
        let scale = configured.reduce(0, +)
        guard total > 0, weights != configured else { return weights }
        return weights.map { w in w == 0 ? 0 : max(1, Int((Double(w) / Double(total) * Double(scale)).rounded())) }
    }

    /// Weights travel ×1000 (`SlowStart.weightScale`); shown on the configured scale, a backend
    /// still ramping shows its fraction rounded up to 1 rather than a misleading 0.
    static func displayWeight(_ scaled: Int?) -> Int? {
        guard let scaled else { return nil }
        return scaled == 0 ? 0 : max(1, (scaled + 500) / 1000)
    }

    init(_ snapshot: AdminState.Snapshot, gauges: AdminGauges = AdminGauges()) {
        let config = snapshot.config
        let now = MonotonicClock.now()
        self.init(
            generation: snapshot.generation,
            configFile: config.file,
            process: Process(pid: getpid(), version: CutoverVersion.string, startedAt: snapshot.startedAt.formatted(.iso8601)),
            lastUpgrade: snapshot.lastUpgrade.map {
                LastUpgrade(result: $0.succeeded ? "success" : "failure", detail: $0.detail, at: $0.at.formatted(.iso8601))
            },
            ready: !snapshot.stopping,
            workers: snapshot.workers,
            lastReload: snapshot.lastReload.map {
                LastReload(result: $0.succeeded ? "success" : "failure", error: $0.error, at: $0.at.formatted(.iso8601))
            },
            reloads: Reloads(success: snapshot.reloadsSucceeded, failure: snapshot.reloadsFailed),
            routes: [], pools: [], listeners: [], rollouts: snapshot.rollouts)
        fleet = snapshot.fleet.map {
            FleetStatusDocument(instance: $0.instance, prefix: $0.prefix, endpoints: $0.endpoints, connected: $0.connected,
                                endpoint: $0.endpoint, appliedGeneration: $0.appliedGeneration, appliedBy: $0.appliedWrittenBy,
                                refusedGeneration: $0.refusedGeneration, lastError: $0.lastError)
        }
        routes = config.routes.map { route in
            let configured = route.pools.map(\.weight)
            let effective = AdminStatus.rescale(snapshot.effectiveSplits[route.name], like: configured)
            return Route(name: route.name, pools: route.pools.enumerated().map { i, pool in
                RoutePool(name: pool.name, configuredWeight: pool.weight, effectiveWeight: effective[i])
            })
        }
        pools = config.pools.map { pool in
            var backends = pool.backends.map { backend in
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                let id = snapshot.backendIDs[identity]
                var entry = Backend(address: backend.address.description, weight: backend.weight,
                                    effectiveWeight: AdminStatus.displayWeight(snapshot.backendEffectiveWeights[identity]) ?? backend.weight,
                                    state: snapshot.backendStates[identity] ?? "healthy",
                                    inFlight: gauges.inFlight(id), connections: gauges.connections(id),
                                    requests: gauges.requests(id), errors: gauges.errors(id))
                entry.health = entry.state
                if let end = snapshot.slowStartEnds[identity] {
                    entry.slowStartSecondsLeft = (Double(end &- min(now, end)) / 1e8).rounded() / 10
                }
                entry.adminState = backend.state.rawValue
                if backend.state == .drain {
                    entry.state = "draining"
                    let deadline = snapshot.adminDrainDeadlines[identity] ?? now
                    entry.drainSecondsLeft = (Double(deadline &- min(now, deadline)) / 1e8).rounded() / 10
                }
                switch snapshot.ejections[identity] {
                case .ejected(let secondsLeft):
                    entry.passive = "ejected"
                    entry.ejectedSecondsLeft = (secondsLeft * 10).rounded() / 10
                case .refusedLastUsable:
                    entry.passive = "not ejected: last usable backend"
                case nil:
                    break
                }
                return entry
            }
            for (identity, drain) in snapshot.draining.sorted(by: { $0.key.address < $1.key.address })
            where identity.pool == pool.name {
                var backend = Backend(address: identity.address, weight: 0, effectiveWeight: 0, state: "draining",
                                      inFlight: gauges.inFlight(drain.id), connections: gauges.connections(drain.id),
                                      requests: gauges.requests(drain.id), errors: gauges.errors(drain.id))
                backend.drainSecondsLeft = (drain.secondsLeft * 10).rounded() / 10
                backends.append(backend)
            }
            return Pool(name: pool.name, balance: pool.balance.rawValue, backends: backends)
        }
        let labels = snapshot.labels
        listeners = config.listeners.map { listener in
            let rules = listener.rules.map { rule -> Rule in
                var route: String?
                if case .route(let name) = rule.action { route = name }
                return Rule(name: rule.name, match: PlanFormat.rule(rule), route: route,
                            hits: gauges.ruleHits(labels.knownRuleID(listener: listener.name, rule: rule.name)))
            }
            return Listener(name: listener.name, listen: listener.listen.description, protocol: listener.proto.rawValue,
                            route: listener.route, tls: listener.tls != nil, rules: rules.isEmpty ? nil : rules)
        }
    }
}

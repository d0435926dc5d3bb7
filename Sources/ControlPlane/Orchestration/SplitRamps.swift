import Balancer
import Config
import EventLoop

/// The effective split of every route and the ramps moving them. Owned by the control plane's
/// queue. A reload that changes a route's split with `ramp: D` starts a ramp from the split in
/// effect at that moment (even mid-ramp) to the new one; a timer steps it (≈1 % per step) by
/// posting new split weights to the workers, never computing curves per request.
struct SplitRamps {
    /// Route name → the weights in effect now, in the order of the route's pools in the config.
    private(set) var effective: [String: [Int]] = [:]
    private var ramps: [String: SplitRamp] = [:]

    /// Route name → the pool names `effective` refers to, in order.
    private var poolNames: [String: [String]] = [:]

    init(_ config: CutoverConfig) {
        for route in config.routes {
            effective[route.name] = route.pools.map(\.weight)
            poolNames[route.name] = route.pools.map(\.name)
        }
    }

    var isRamping: Bool { !ramps.isEmpty }

    /// Applies a new config at `now`; returns the weights each route's snapshot starts with.
    mutating func apply(_ next: CutoverConfig, now: UInt64) -> [String: [Int]] {
        var nextEffective: [String: [Int]] = [:]
        var nextRamps: [String: SplitRamp] = [:]
        for route in next.routes {
            let target = route.pools.map(\.weight)
            // Neither the split nor the ramp changed: the ramp under way keeps its schedule.
            // Restarting it from here would re-time it, and reloads more frequent than its steps
            // would hold it where it is.
            if let running = ramps[route.name], running.to == target,
               running.duration == UInt64(max(0, route.ramp.nanoseconds)),
               poolNames[route.name] == route.pools.map(\.name) {
                nextRamps[route.name] = running
                nextEffective[route.name] = running.weights(at: now)
                continue
            }
            // Pools are matched by name: one added by this reload starts from 0.
            let current: [Int]? = effective[route.name].flatMap { weights in
                guard let old = poolNames[route.name] else { return nil }
                let byName = Dictionary(zip(old, weights), uniquingKeysWith: { a, _ in a })
                return route.pools.map { byName[$0.name] ?? 0 }
            }
            if let current, route.ramp.nanoseconds > 0, current != target {
                let ramp = SplitRamp(from: current, to: target, start: now, duration: UInt64(route.ramp.nanoseconds))
                nextRamps[route.name] = ramp
                nextEffective[route.name] = ramp.weights(at: now)
            } else {
                nextEffective[route.name] = target
            }
        }
        effective = nextEffective
        ramps = nextRamps
        poolNames = [:]
        for route in next.routes { poolNames[route.name] = route.pools.map(\.name) }
        return effective
    }

    /// Advances every ramp to `now`; returns the routes whose weights changed, with the new ones.
    mutating func step(now: UInt64) -> [(route: String, weights: [Int])] {
        var changed: [(route: String, weights: [Int])] = []
        for (route, ramp) in ramps {
            let weights = ramp.weights(at: now)
            if weights != effective[route] {
                effective[route] = weights
                changed.append((route, weights))
            }
            if ramp.isFinished(at: now) { ramps[route] = nil }
        }
        return changed
    }

    /// The splits and ramps, for the process an upgrade starts.
    var handoff: [UpgradeState.Ramp] {
        effective.keys.sorted().map { route in
            let ramp = ramps[route]
            return UpgradeState.Ramp(route: route, effective: effective[route] ?? [], pools: poolNames[route] ?? [],
                                     from: ramp?.from, to: ramp?.to, start: ramp?.start, duration: ramp?.duration)
        }
    }

    /// Takes the old process's splits and ramps for the routes whose pools are the same.
    mutating func adopt(_ handed: [UpgradeState.Ramp], config: CutoverConfig) {
        for entry in handed {
            guard let route = config.route(named: entry.route), route.pools.map(\.name) == entry.pools,
                  entry.effective.count == entry.pools.count else { continue }
            effective[entry.route] = entry.effective
            if let from = entry.from, let to = entry.to, let start = entry.start, let duration = entry.duration,
               to == route.pools.map(\.weight) {
                ramps[entry.route] = SplitRamp(from: from, to: to, start: start, duration: duration)
            }
        }
    }

    /// Puts `weights` in force for `route` at once, ending any ramp of it (a rollout's step).
    mutating func pin(route: String, weights: [Int]) {
        ramps[route] = nil
        effective[route] = weights
    }

    /// When the next step of any ramp is due.
    func nextStep(after now: UInt64) -> UInt64? {
        ramps.values.compactMap { $0.nextStep(after: now) }.min()
    }
}

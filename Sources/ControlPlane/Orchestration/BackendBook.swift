import Balancer
import Config
import HealthCheck

/// The control plane's record of every backend it has seen, keyed by identity (pool + address)
/// so it carries across reloads: a stable id for the data plane's gauges, health, when slow start
/// began, and the drain deadline of a removed backend. Control queue only.
struct BackendBook {
    private var ids: [BackendIdentity: Int] = [:]
    /// id → identity, for the labels of the workers' per-backend series.
    private(set) var identities: [BackendIdentity] = []
    /// Ids of routes, pools and listeners, kept with the backends' so they travel together.
    var labels = MetricLabels()
    /// Only for backends of pools with a `health_check`; the others are usable at once.
    var health: [BackendIdentity: HealthState] = [:]
    /// When each backend's slow start began (turned healthy, or added by a reload).
    var slowStartBegan: [BackendIdentity: UInt64] = [:]
    /// Backends a reload removed, until their deregistration delay ends or nothing is left on them.
    var draining: [BackendIdentity: Drain] = [:]
    /// Passive health: backends ejected until then (see `BackendBook+Passive`).
    var ejectedUntil: [BackendIdentity: UInt64] = [:]
    /// Backends that failed enough to be ejected but were kept as their pool's last usable one;
    /// `/status` says so until then.
    var ejectionRefusedUntil: [BackendIdentity: UInt64] = [:]
    /// When each backend with `state: drain` in the config began draining (its deregistration
    /// delay runs from there, for `/status` and `cutover backend drain`).
    var adminDrainBegan: [BackendIdentity: UInt64] = [:]

    struct Drain {
        var deadline: UInt64
        var id: Int
        /// The health check that keeps probing it, so a re-add within the delay keeps its state.
        var target: HealthTarget?
    }

    /// The stable id of `identity`, assigning the next one on first sight.
    mutating func id(for identity: BackendIdentity) -> Int {
        if let id = ids[identity] { return id }
        let id = identities.count
        identities.append(identity)
        ids[identity] = id
        return id
    }

    func knownID(_ identity: BackendIdentity) -> Int? { ids[identity] }

    /// weight × SlowStart.weightScale, scaled by the slow-start factor, 0 unless usable (healthy,
    /// not ejected, not drained by `state: drain`).
    func effectiveWeight(_ identity: BackendIdentity, backend: BackendConfig, pool: PoolConfig, now: UInt64) -> Int {
        effectiveWeight(identity, weight: backend.weight, drained: backend.state == .drain, pool: pool, now: now)
    }

    func effectiveWeight(_ identity: BackendIdentity, weight: Int, drained: Bool = false, pool: PoolConfig, now: UInt64) -> Int {
        if drained { return 0 }
        if pool.healthCheck != nil, !(health[identity] ?? .checking).isUsable { return 0 }
        if isEjected(identity, now: now) { return 0 }
        let slowStart = pool.slowStart.nanoseconds
        var began = slowStartBegan[identity]
        // An ejection over but not yet ended by the timer: its slow start began when it ended.
        if let ended = ejectedUntil[identity] { began = max(began ?? ended, ended) }
        if slowStart > 0, let began {
            return SlowStart(duration: UInt64(slowStart)).effectiveWeight(weight: weight, startedAt: began, now: now)
        }
        return SlowStart.fullWeight(weight)
    }

    /// Whether any backend is still ramping at `now`, and when the next step of any is due.
    func nextSlowStartStep(_ config: CutoverConfig, after now: UInt64) -> UInt64? {
        var next: UInt64?
        for pool in config.pools where pool.slowStart.nanoseconds > 0 {
            let ramp = SlowStart(duration: UInt64(pool.slowStart.nanoseconds))
            for backend in pool.backends {
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                guard let began = slowStartBegan[identity], let step = ramp.nextStep(since: began, after: now) else { continue }
                next = min(next ?? step, step)
            }
        }
        return next
    }

    /// Effective weights of every backend of `config`, pool by pool, in config order.
    func effectiveWeights(_ config: CutoverConfig, now: UInt64) -> [[Int]] {
        config.pools.map { pool in
            pool.backends.map { effectiveWeight(BackendIdentity(pool: pool.name, address: $0.address.description),
                                                backend: $0, pool: pool, now: now) }
        }
    }

    /// The state `/status` shows for a configured backend.
    func state(_ identity: BackendIdentity, pool: PoolConfig) -> String {
        guard pool.healthCheck != nil else { return "healthy" }
        switch health[identity] ?? .checking {
        case .checking: return "checking"
        case .healthy: return "healthy"
        case .unhealthy: return "unhealthy"
        }
    }
}

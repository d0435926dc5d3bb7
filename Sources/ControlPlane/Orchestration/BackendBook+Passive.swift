import Config
import HealthCheck

/// Passive health: ejections decided from the workers' failure streaks. Pure bookkeeping with
/// `now` as a parameter, so the rules (never the last usable backend, back after `eject_for`
/// through slow start) are tested without a clock.
extension BackendBook {
    enum EjectionDecision: Equatable {
        case ejected(until: UInt64)
        /// It is the pool's last usable backend: a failing backend beats none at all.
        case refusedLastUsable
        /// Already ejected, draining, or its pool has no `passive` section (any more).
        case ignored
    }

    /// A worker saw `passive.consecutive_failures` failures in a row on backend `id`.
    mutating func passiveFailure(id: Int, config: CutoverConfig, now: UInt64) -> EjectionDecision {
        guard id < identities.count else { return .ignored }
        let identity = identities[id]
        guard draining[identity] == nil,
              let pool = config.pools.first(where: { $0.name == identity.pool }),
              let passive = pool.passive,
              pool.backends.contains(where: { $0.address.description == identity.address }) else { return .ignored }
        if let until = ejectedUntil[identity], until > now { return .ignored }
        let eject = UInt64(max(0, passive.ejectFor.nanoseconds))
        let othersUsable = pool.backends.contains { backend in
            let other = BackendIdentity(pool: pool.name, address: backend.address.description)
            return other != identity && effectiveWeight(other, backend: backend, pool: pool, now: now) > 0
        }
        guard othersUsable else {
            ejectionRefusedUntil[identity] = now &+ eject
            return .refusedLastUsable
        }
        ejectedUntil[identity] = now &+ eject
        ejectionRefusedUntil[identity] = nil
        return .ejected(until: now &+ eject)
    }

    /// Ends the ejections that are over at `now`: those backends take traffic again, ramping up
    /// with their pool's slow start like a backend that turned healthy. Returns them.
    mutating func endEjections(now: UInt64) -> [BackendIdentity] {
        let over = ejectedUntil.filter { $0.value <= now }.map(\.key)
        for identity in over {
            ejectedUntil[identity] = nil
            slowStartBegan[identity] = now
        }
        ejectionRefusedUntil = ejectionRefusedUntil.filter { $0.value > now }
        return over
    }

    /// When the next ejection ends, if any is running.
    var nextEjectionEnd: UInt64? { ejectedUntil.values.min() }

    func isEjected(_ identity: BackendIdentity, now: UInt64) -> Bool {
        (ejectedUntil[identity] ?? 0) > now
    }
}

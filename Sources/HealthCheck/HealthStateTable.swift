import Balancer
import EventLoop

/// The checker's results as other threads read them: a locked dictionary, written by the checker
/// thread on every transition and by `configure` on the caller's thread.
///
/// Why `configure` writes too: so that `states()` right after a `configure` already lists every
/// new backend as `checking` and no removed one, and the control plane can build a snapshot from
/// it at once instead of waiting for the checker thread. The checker thread then publishes its own
/// view only for the newest configuration (`sequence`), and a transition only updates a backend
/// still listed, so a late result for a removed backend cannot bring it back.
final class HealthStateTable: Sendable {
    private struct Table {
        var states: [BackendIdentity: HealthState] = [:]
        /// The number of the newest configuration written by `configure`.
        var sequence: UInt64 = 0
    }

    private let table = Locked(Table())

    /// Caller's thread: lists exactly `identities` (known ones keep their state, new ones are
    /// `checking`) and runs `post` with the new sequence number under the lock, so configurations
    /// reach the checker in the order they were numbered.
    func configure(_ identities: [BackendIdentity], post: (UInt64) -> Void) {
        table.withLock { table in
            var next: [BackendIdentity: HealthState] = [:]
            next.reserveCapacity(identities.count)
            for identity in identities { next[identity] = table.states[identity] ?? .checking }
            table.states = next
            table.sequence += 1
            post(table.sequence)
        }
    }

    /// Checker thread, after applying configuration `sequence`: its states replace the table's,
    /// unless a newer configuration has been written meanwhile (that one will publish in turn).
    func publish(_ states: [BackendIdentity: HealthState], sequence: UInt64) {
        table.withLock { table in
            if table.sequence == sequence { table.states = states }
        }
    }

    /// Checker thread: a transition of a backend that is still configured.
    func update(_ identity: BackendIdentity, to state: HealthState) {
        table.withLock { table in
            if table.states[identity] != nil { table.states[identity] = state }
        }
    }

    func read() -> [BackendIdentity: HealthState] {
        table.withLock { $0.states }
    }

    func state(of identity: BackendIdentity) -> HealthState? {
        table.withLock { $0.states[identity] }
    }
}

import Admin
import Config
import EventLoop
import Foundation
import HealthCheck

/// The outcome of the most recent reload, by SIGHUP or by `POST /reload`.
struct ReloadRecord: Sendable {
    var succeeded: Bool
    /// `FILE:LINE:COLUMN: message` when rejected.
    var error: String?
    var at: Date
}

/// What the admin API shows, published by the control plane after each change and read by the
/// admin threads under a lock. Why a copy rather than reading `Proxy` on its queue: a read
/// (`/status`, `/metrics`, `/ready`) must answer while a slow reload (name resolution) holds the
/// queue — that is exactly when an operator looks.
final class AdminState: Sendable {
    struct Snapshot: Sendable {
        var config: CutoverConfig
        var generation: UInt64
        var workers: Int
        var lastReload: ReloadRecord?
        var reloadsSucceeded = 0
        var reloadsFailed = 0
        /// Shutdown has begun: `/ready` answers 503.
        var stopping = false
        /// The token the admin API asks for. It follows reloads while the file has an admin
        /// section; removing the section does not open the API (the listener stays until restart).
        var token: String?
        /// Route name → the split in effect (differs from the configured one while a ramp runs).
        var effectiveSplits: [String: [Int]] = [:]
        /// Per configured backend: `checking`, `healthy` or `unhealthy`.
        var backendStates: [BackendIdentity: String] = [:]
        /// Per configured backend: weight × 1000 × slow start × usable.
        var backendEffectiveWeights: [BackendIdentity: Int] = [:]
        /// Every backend's id in the workers' gauges (configured and draining ones).
        var backendIDs: [BackendIdentity: Int] = [:]
        /// Configured backends with `state: drain`: when their deregistration delay ends (monotonic).
        var adminDrainDeadlines: [BackendIdentity: UInt64] = [:]
        /// When each backend's slow start ends (monotonic), for those that had one.
        var slowStartEnds: [BackendIdentity: UInt64] = [:]
        /// Backends a reload removed that still drain.
        var draining: [BackendIdentity: DrainInfo] = [:]
        /// Passive health, per configured backend it concerns.
        var ejections: [BackendIdentity: Ejection] = [:]
        /// Names behind the ids of the workers' series (`/metrics` labels).
        var labels = MetricLabels()
        var backendIdentities: [BackendIdentity] = []
        /// Every route with a rollout policy or a rollout, as `/rollouts` shows it.
        var rollouts: [RolloutDocument] = []
        var upgradesSucceeded = 0
        var upgradesFailed = 0
        var lastUpgrade: UpgradeRecord?
        /// When this process started (wall clock).
        var startedAt = Date()
        /// Route → result (`promoted`, `rolled_back`, `aborted`) → rollouts that ended so.
        var rolloutResults: [String: [String: Int]] = [:]
        /// The fleet (`cluster:` set): connection, generation in force, last error.
        var fleet: FleetSummary?
    }

    enum Ejection: Sendable, Equatable {
        case ejected(secondsLeft: Double)
        case refusedLastUsable
    }

    struct DrainInfo: Sendable {
        var id: Int
        var secondsLeft: Double
    }

    private let state: Locked<Snapshot>

    init(config: CutoverConfig, generation: UInt64, workers: Int) {
        state = Locked(Snapshot(config: config, generation: generation, workers: workers, token: config.admin?.token))
    }

    func read() -> Snapshot { state.withLock { $0 } }

    func update(_ change: (inout Snapshot) -> Void) {
        state.withLock { change(&$0) }
    }
}

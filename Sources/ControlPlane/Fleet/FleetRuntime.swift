import Config
import Dispatch
import Fleet

/// The proxy's fleet state (control queue only): the local file's config without the overlay,
/// the document in force, the last refusal, and the agent following etcd.
final class FleetRuntime {
    let cluster: ClusterConfig
    let cache: FleetCache
    /// The config as the local file says, before the fleet document is laid over it.
    var base: CutoverConfig
    /// The document in force (nil: none yet, the file alone).
    var applied: FleetDocument?
    /// The `active` revision `applied` came with.
    var revision: Int64?
    /// The last generation refused and why (cleared by the next one applied).
    var refused: (generation: Int64, reason: String)?
    var agent: FleetAgent?
    /// Fleet rollouts: the routes whose rollout this instance leads (the leader key's revision),
    /// the fleet's summed counts of each, the last look, and the ticker (on its own queue).
    var rolloutLeads: [String: Int64] = [:]
    var rolloutTotals: [String: FleetRolloutTotals] = [:]
    var rolloutLastLook: [String: UInt64] = [:]
    /// The split each led rollout last put in the fleet's document (nil: none yet).
    var rolloutWrittenSplit: [String: [String: Int]] = [:]
    var rolloutTicker: (any DispatchSourceTimer)?
    let rolloutQueue = DispatchQueue(label: "cutover.fleet-rollouts")
    /// The rollouts another instance leads (or led last), as this instance's last tick read their
    /// state: what `/rollouts` shows here.
    var followedRollouts: [String: FleetRolloutState] = [:]
    /// Set while a generation a rollout wrote is applied: its split is the rollout's, not an operator's.
    var applyingRolloutGeneration = false

    init(cluster: ClusterConfig, base: CutoverConfig) {
        self.cluster = cluster
        self.base = base
        self.cache = FleetCache(directory: base.stateDirectory)
    }
}

/// What `/status` and `/metrics` show of the fleet (published with the admin state).
struct FleetSummary: Sendable {
    var instance: String
    var prefix: String
    var endpoints: [String]
    var connected = false
    /// The endpoint answering (nil while none does).
    var endpoint: String?
    var appliedGeneration: Int64 = 0
    var appliedWrittenBy: String?
    var refusedGeneration: Int64?
    var lastError: String?
}

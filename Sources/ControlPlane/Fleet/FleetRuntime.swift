import Config
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

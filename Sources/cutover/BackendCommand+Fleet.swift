import Config
import Fleet

extension BackendCommand.Target {
    /// The cluster section of the config, when it loads and has one: then `drain` and `enable`
    /// change the fleet's desired state in etcd instead of this file.
    var fleetCluster: (CutoverConfig, ClusterConfig)? {
        guard let config = try? ConfigLoader.load(file: options.config), let cluster = config.cluster else { return nil }
        return (config, cluster)
    }

    /// `drain` / `enable` across the fleet: the backend's admin state in a new generation,
    /// waited for on every instance. POOL and ADDRESS must be in the local file (each instance
    /// checks its own and refuses what it does not have).
    func fleetAdminState(_ state: BackendAdminState, _ config: CutoverConfig, _ cluster: ClusterConfig) throws(SwitchFailure) -> String {
        guard let local = config.pool(named: pool) else {
            throw .refused("\(options.config) has no pool '\(pool)' (pools: \(config.pools.map(\.name).joined(separator: ", ")))")
        }
        guard local.backends.contains(where: { $0.address == hostPort }) else {
            throw .refused("pool \(pool) has no backend \(hostPort) in \(options.config)")
        }
        let verb = state == .drain ? "drain" : "enable"
        let fleet = FleetChange(config: config, what: "backend \(verb) \(pool) \(hostPort)", timeout: seconds)
        let line = try fleet.perform { document in
            document.backends[pool, default: [:]][hostPort.description] = state.rawValue
        }
        return "pool \(pool): \(hostPort) \(state == .drain ? "draining" : "active") across the fleet; \(line)"
    }
}

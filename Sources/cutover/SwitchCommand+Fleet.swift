import Config
import Fleet

extension SwitchRun {
    /// With `cluster:`: the switch as a new fleet generation (ROUTE's split POOL 100, its other
    /// pools 0, and `--ramp`), refused when POOL has no healthy backend on a live instance or
    /// fails its smoke test through this machine's instance (the file's listener, as without
    /// `cluster:`), then waited for on every instance. The local file is not edited: the fleet's desired
    /// state lives in etcd, laid over each instance's file.
    func switchFleet(_ config: CutoverConfig, _ cluster: ClusterConfig) throws(SwitchFailure) {
        let route = command.route, pool = command.pool
        guard let local = config.route(named: route) else { return }
        var fleet = FleetChange(config: config, what: "switch \(route) \(pool)",
                                timeout: Double(Config.Duration(parsing: command.timeout)?.nanoseconds ?? 30_000_000_000) / 1e9)
        fleet.precheck = { (instances: [InstanceReport]) throws(SwitchFailure) in
            let down = instances.filter { ($0.pools[pool]?.healthy ?? 1) == 0 }
            if !down.isEmpty {
                let list = down.map { "\($0.instance) (0 of \($0.pools[pool]?.total ?? 0))" }.joined(separator: ", ")
                throw .refused("pool \(pool) has no healthy backend on \(list); nothing was written")
            }
            let without = instances.filter { $0.pools[pool] == nil }.map(\.instance)
            if !without.isEmpty { print("pool \(pool): not configured on \(without.joined(separator: ", ")) (they will refuse the new generation)") }
            if without.count < instances.count { print("pool \(pool): a healthy backend on each of \(instances.count - without.count) instance(s)") }
            if command.noSmokeTest {
                print("smoke test: skipped (--no-smoke-test)")
            } else {
                try smokeTest(config)
            }
        }
        let line = try fleet.perform { document in
            var split: [String: Int] = [:]
            for p in local.pools { split[p.name] = p.name == pool ? 100 : 0 }
            document.routes[route] = FleetDocument.Route(pools: split, ramp: command.ramp ?? document.routes[route]?.ramp)
        }
        print("route \(route): switched to \(pool) across the fleet; \(line)")
    }
}

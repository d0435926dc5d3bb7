import Config
import Foundation

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

    /// The status document of a published snapshot.
    ///
    /// Effective weights equal configured ones and every backend shows `healthy` with nothing in
    /// flight: this build has no ramps, health checks or per-backend counters yet. The fields
    /// are there now so that scripts written against them keep working when those arrive.
    init(_ snapshot: AdminState.Snapshot) {
        let config = snapshot.config
        generation = snapshot.generation
        configFile = config.file
        ready = !snapshot.stopping
        workers = snapshot.workers
        lastReload = snapshot.lastReload.map {
            LastReload(result: $0.succeeded ? "success" : "failure", error: $0.error, at: $0.at.formatted(.iso8601))
        }
        reloads = Reloads(success: snapshot.reloadsSucceeded, failure: snapshot.reloadsFailed)
        routes = config.routes.map { route in
            let configured = route.pools.map(\.weight)
            let effective = AdminStatus.rescale(snapshot.effectiveSplits[route.name], like: configured)
            return Route(name: route.name, pools: route.pools.enumerated().map { i, pool in
                RoutePool(name: pool.name, configuredWeight: pool.weight, effectiveWeight: effective[i])
            })
        }
        pools = config.pools.map { pool in
            Pool(name: pool.name, balance: pool.balance.rawValue, backends: pool.backends.map {
                Backend(address: $0.address.description, weight: $0.weight, effectiveWeight: $0.weight,
                        state: "healthy", inFlight: 0, connections: 0)
            })
        }
        listeners = config.listeners.map {
            Listener(name: $0.name, listen: $0.listen.description, protocol: $0.proto.rawValue,
                     route: $0.route, tls: $0.tls != nil)
        }
    }
}

import Balancer

/// One worker's view of a `RoutingTable`: the immutable snapshot plus this worker's own mutable
/// state for it: split rotation per route, and per pool the balancer, the effective weights and
/// the requests in flight per backend. Rebuilt whole when a new snapshot arrives; exchanges keep
/// the one they started under, so their in-flight counts are returned where they were taken.
final class WorkerRouting {
    let table: RoutingTable
    private var splits: [SplitPicker]
    private var pickers: [BackendPicker]
    /// Per pool, per backend: weight × SlowStart.weightScale, as the balancers expect.
    private(set) var effectiveWeights: [[Int]]
    private(set) var inFlight: [[Int32]]
    /// Per pool: some backend has a positive effective weight. Kept with the weights, because
    /// every pick asks it for every slot of the route.
    private var usable: [Bool]
    private let routeIndexByName: [String: Int]

    init(table: RoutingTable, seed: UInt64) {
        self.table = table
        splits = table.routes.map { SplitPicker(weights: $0.pools.map(\.weight)) }
        pickers = table.pools.enumerated().map { i, pool in
            BackendPicker(kind: pool.balance, weights: pool.backends.map(\.weight), seed: seed &+ UInt64(i))
        }
        effectiveWeights = table.pools.map { $0.backends.map(\.effectiveWeight) }
        inFlight = table.pools.map { [Int32](repeating: 0, count: $0.backends.count) }
        usable = effectiveWeights.map { $0.contains { $0 > 0 } }
        var byName: [String: Int] = [:]
        for (i, route) in table.routes.enumerated() { byName[route.name] = i }
        routeIndexByName = byName
    }

    func routeIndex(named name: String) -> Int? { routeIndexByName[name] }

    /// The route slot a new request goes to by the split weights, skipping pools with no usable
    /// backend; nil if there is none.
    func pickSlot(route: Int) -> Int? {
        guard route < splits.count else { return nil }
        let pools = table.routes[route].pools
        return splits[route].pick(where: { isUsable(pool: pools[$0].index) })
    }

    /// The pool a new request on `route` goes to, by the split alone (TCP listeners).
    func pickPool(route: Int) -> Int? {
        pickSlot(route: route).map { table.routes[route].pools[$0].index }
    }

    func splitWeight(route: Int, slot: Int) -> Int { splits[route].weights[slot] }

    /// The route's current split weights, by slot (a ramp's or rollout's step included).
    func splitWeights(route: Int) -> [Int] { splits[route].weights }

    /// A ramp step: new split weights for a route, keeping the rotation state.
    func setSplitWeights(route: Int, _ weights: [Int]) {
        guard route < splits.count, weights.count == splits[route].count else { return }
        splits[route].setWeights(weights)
    }

    /// More than one pool gets new requests: only then does a sticky cookie mean anything.
    func splitIsFractional(route: Int) -> Bool {
        var positive = 0
        for w in splits[route].weights where w > 0 { positive += 1 }
        return positive > 1
    }

    /// Whether a pool has a backend that can take a request.
    func isUsable(pool: Int) -> Bool { usable[pool] }

    /// The next backend of `pool` that this request has not tried yet.
    func pickBackend(pool: Int, excluding tried: TriedSet) -> Int? {
        pickers[pool].pick(effectiveWeights: effectiveWeights[pool], inFlight: inFlight[pool], excluding: tried)
    }

    func requestStarted(pool: Int, backend: Int) { inFlight[pool][backend] &+= 1 }
    func requestEnded(pool: Int, backend: Int) { inFlight[pool][backend] &-= 1 }

    /// New effective weights from the control plane (health, slow start), pool by pool.
    func setEffectiveWeights(_ weights: [[Int]]) {
        guard weights.count == effectiveWeights.count else { return }
        for (pool, row) in weights.enumerated() where row.count == effectiveWeights[pool].count {
            effectiveWeights[pool] = row
            usable[pool] = row.contains { $0 > 0 }
        }
    }
}

import Balancer

/// One worker's view of a `RoutingTable`: the immutable snapshot plus this worker's own rotation
/// state for route splits and pools. Rebuilt whole when a new snapshot arrives.
final class WorkerRouting {
    let table: RoutingTable
    private var splits: [SmoothWeightedRoundRobin]
    private var pickers: [SmoothWeightedRoundRobin]
    private let routeIndexByName: [String: Int]

    init(table: RoutingTable) {
        self.table = table
        splits = table.routes.map { SmoothWeightedRoundRobin(weights: $0.pools.map(\.weight)) }
        pickers = table.pools.map { SmoothWeightedRoundRobin(weights: $0.backends.map(\.weight)) }
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
        return splits[route].next(where: { isUsable(pool: pools[$0].index) })
    }

    /// The pool a new request on `route` goes to, by the split alone (TCP listeners).
    func pickPool(route: Int) -> Int? {
        pickSlot(route: route).map { table.routes[route].pools[$0].index }
    }

    func splitWeight(route: Int, slot: Int) -> Int { splits[route].weights[slot] }

    /// More than one pool gets new requests: only then does a sticky cookie mean anything.
    func splitIsFractional(route: Int) -> Bool {
        var positive = 0
        for w in splits[route].weights where w > 0 { positive += 1 }
        return positive > 1
    }

    /// Whether a pool has a backend that can take a request.
    func isUsable(pool: Int) -> Bool {
        pickers[pool].weights.contains { $0 > 0 }
    }

    /// The next backend of `pool` that this request has not tried yet.
    func pickBackend(pool: Int, excluding tried: TriedSet) -> Int? {
        if tried.isEmpty { return pickers[pool].next() }
        return pickers[pool].next(where: { !tried.contains($0) })
    }
}

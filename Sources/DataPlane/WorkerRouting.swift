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

    /// The pool a new request on `route` goes to, by the split weights; nil if every weight is 0.
    func pickPool(route: Int) -> Int? {
        guard route < splits.count, let slot = splits[route].next() else { return nil }
        return table.routes[route].pools[slot].index
    }

    /// The next backend of `pool` that this request has not tried yet.
    func pickBackend(pool: Int, excluding tried: TriedSet) -> Int? {
        if tried.isEmpty { return pickers[pool].next() }
        return pickers[pool].next(where: { !tried.contains($0) })
    }
}

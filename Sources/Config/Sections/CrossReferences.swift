import Yams

/// Checks that span sections, run after every section parsed on its own: each listener's route
/// exists, each pool a route names exists, and the admin API does not share an address with a
/// listener. Errors point at the reference, with a suggestion when a defined name is close.
enum CrossReferences {
    static func check(admin: AdminSection.Parsed?, listeners: [ListenerSection.Parsed],
                      routes: [RouteSection.Parsed], pools: [PoolConfig],
                      reader: NodeReader) throws(ConfigError) {
        let routeNames = routes.map(\.config.name)
        for listener in listeners where !routeNames.contains(listener.config.route) {
            throw reader.error(listener.routeNode,
                               undefined("route", listener.config.route, section: "routes", names: routeNames))
        }
        let poolNames = pools.map(\.name)
        for route in routes {
            for (pool, keyNode) in zip(route.config.pools, route.poolKeyNodes) where !poolNames.contains(pool.name) {
                throw reader.error(keyNode, undefined("pool", pool.name, section: "pools", names: poolNames))
            }
        }
        if let admin, let listener = listeners.first(where: { $0.config.listen == admin.config.listen }) {
            throw reader.error(admin.listenNode,
                               "admin address \(admin.config.listen) is already used by listener '\(listener.config.name)'")
        }
    }

    private static func undefined(_ kind: String, _ name: String, section: String, names: [String]) -> String {
        var message = "\(kind) '\(name)' is not defined in '\(section)'"
        if let close = Suggestion.closest(to: name, among: names) { message += " (did you mean '\(close)'?)" }
        return message
    }
}

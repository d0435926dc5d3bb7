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
        for listener in listeners {
            for rule in listener.rules {
                if case .route(let name) = rule.config.action, !routeNames.contains(name), let node = rule.routeNode {
                    throw reader.error(node, undefined("route", name, section: "routes", names: routeNames))
                }
            }
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

    /// Rules after a catch-all (a rule without conditions) can never match.
    static func warnings(listeners: [ListenerSection.Parsed]) -> [ConfigWarning] {
        var warnings: [ConfigWarning] = []
        for listener in listeners {
            guard let catchAll = listener.config.rules.firstIndex(where: \.isCatchAll) else { continue }
            let first = listener.config.rules[catchAll]
            for rule in listener.config.rules[(catchAll + 1)...] {
                warnings.append(ConfigWarning(rule.location, "rule '\(rule.name)' of listener '\(listener.config.name)' is never reached: rule '\(first.name)' (line \(first.location.line)) matches every request"))
            }
        }
        return warnings
    }

    private static func undefined(_ kind: String, _ name: String, section: String, names: [String]) -> String {
        var message = "\(kind) '\(name)' is not defined in '\(section)'"
        if let close = Suggestion.closest(to: name, among: names) { message += " (did you mean '\(close)'?)" }
        return message
    }
}

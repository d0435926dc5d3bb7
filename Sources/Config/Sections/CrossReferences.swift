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

    /// Rules no request can reach: an earlier rule matches every request they would (a
    /// catch-all, `*.example.com` before `old.example.com`, `/api` before `/api/v2`).
    static func warnings(listeners: [ListenerSection.Parsed]) -> [ConfigWarning] {
        var warnings: [ConfigWarning] = []
        for listener in listeners {
            let rules = listener.config.rules
            for (j, later) in rules.enumerated() {
                guard let earlier = rules[..<j].first(where: { covers($0, later) }) else { continue }
                warnings.append(ConfigWarning(later.location, "rule '\(later.name)' of listener '\(listener.config.name)' is never reached: rule '\(earlier.name)' (line \(earlier.location.line)) matches every request it would"))
            }
        }
        return warnings
    }

    /// Every request `later` matches, `earlier` matches too.
    static func covers(_ earlier: RuleConfig, _ later: RuleConfig) -> Bool {
        if let host = earlier.host {
            guard let other = later.host, hostCovers(host, other) else { return false }
        }
        if let exact = earlier.path, later.path != exact { return false }
        if let prefix = earlier.pathPrefix {
            guard let other = later.path ?? later.pathPrefix, pathUnder(other, prefix) else { return false }
        }
        let headersCovered = earlier.headers.allSatisfy { condition in
            later.headers.contains { $0.name.lowercased() == condition.name.lowercased() && (condition.value == nil || $0.value == condition.value) }
        }
        let cookiesCovered = earlier.cookies.allSatisfy { condition in
            later.cookies.contains { $0.name == condition.name && (condition.value == nil || $0.value == condition.value) }
        }
        return headersCovered && cookiesCovered
    }

    /// `pattern` matches every name `other` does (both lower-cased as configured).
    private static func hostCovers(_ pattern: String, _ other: String) -> Bool {
        if pattern == other { return true }
        guard pattern.hasPrefix("*.") else { return false }
        let suffix = pattern.dropFirst(1)  // ".example.com"
        guard !other.hasPrefix("*."), other.hasSuffix(suffix) else { return false }
        return !other.dropLast(suffix.count).contains(".")
    }

    /// `path` (a path, or a prefix) lies under `prefix` on a segment boundary.
    private static func pathUnder(_ path: String, _ prefix: String) -> Bool {
        let base = prefix.count > 1 && prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        if base == "/" { return true }
        return path == base || path.hasPrefix(base + "/")
    }

    private static func undefined(_ kind: String, _ name: String, section: String, names: [String]) -> String {
        var message = "\(kind) '\(name)' is not defined in '\(section)'"
        if let close = Suggestion.closest(to: name, among: names) { message += " (did you mean '\(close)'?)" }
        return message
    }
}

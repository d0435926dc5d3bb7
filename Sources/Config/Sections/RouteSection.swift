import Yams

/// `routes:` — a mapping of route name to `{pools, ramp, sticky, override, rollout, hash_on,
/// request_headers, response_headers}`. A route's split is a
/// mapping of pool name to a non-negative weight; the weights must not all be 0, or the route
/// could send a request nowhere.
enum RouteSection {
    static let keys = ["pools", "ramp", "sticky", "override", "rollout", "hash_on", "request_headers", "response_headers"]
    /// Upper bound of one split weight; keeps sums far from overflow and catches typos.
    static let maximumWeight = 1_000_000

    /// A route plus the key nodes of its split, in the order of `config.pools`, for the check that
    /// each named pool exists.
    struct Parsed {
        var config: RouteConfig
        var poolKeyNodes: [Node]
    }

    static func parseAll(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> [Parsed] {
        let routes = try reader.namedEntries(node, path)
        guard !routes.entries.isEmpty else { throw reader.error(node, "invalid '\(path)': must not be empty") }
        var parsed: [Parsed] = []
        for entry in routes.entries {
            let name = try NameRules.name(entry.keyNode, path, what: "route name", reader: reader)
            parsed.append(try parse(entry.value, name: name, path: routes.child(name),
                                    location: reader.location(of: entry.keyNode), reader: reader))
        }
        return parsed
    }

    static func parse(_ node: Node, name: String, path: String, location: SourceLocation,
                      reader: NodeReader) throws(ConfigError) -> Parsed {
        let section = try reader.section(node, path, allowed: keys)
        let splitNode = try section.required("pools")
        let splitPath = section.child("pools")
        let split = try reader.namedEntries(splitNode, splitPath)
        guard !split.entries.isEmpty else { throw reader.error(splitNode, "invalid '\(splitPath)': must not be empty") }
        var pools: [(name: String, weight: Int)] = []
        for entry in split.entries {
            let weight = try reader.int(entry.value, split.child(entry.key), in: 0...maximumWeight)
            pools.append((entry.key, weight))
        }
        guard pools.contains(where: { $0.weight > 0 }) else {
            throw reader.error(splitNode, "invalid '\(splitPath)': the weights add up to 0; at least one pool needs a positive weight")
        }
        var ramp = Duration(nanoseconds: 0)
        if let value = section.value("ramp") { ramp = try reader.duration(value, section.child("ramp"), allowZero: true) }
        var sticky: StickyConfig?
        if let value = section.value("sticky") {
            let stickySection = try reader.section(value, section.child("sticky"), allowed: ["cookie"])
            let cookie = try NameRules.httpToken(stickySection.required("cookie"), stickySection.child("cookie"),
                                                 what: "cookie name", reader: reader)
            sticky = StickyConfig(cookie: cookie)
        }
        var override: OverrideConfig?
        if let value = section.value("override") {
            override = try OverrideSection.parse(value, path: section.child("override"), reader: reader)
        }
        var config = RouteConfig(name: name, pools: pools, ramp: ramp, sticky: sticky, override: override,
                                 location: location)
        if let value = section.value("rollout") {
            config.rollout = try RolloutSection.parse(value, path: section.child("rollout"), reader: reader)
        }
        if let value = section.value("hash_on") {
            config.hashOn = try hashOn(value, section.child("hash_on"), reader: reader)
            if sticky != nil {
                throw reader.error(value, "invalid '\(section.child("hash_on"))': a route keeps clients by 'sticky' or by 'hash_on', not both")
            }
        }
        if let value = section.value("request_headers") {
            config.requestHeaders = try HeaderEditsSection.parse(value, path: section.child("request_headers"),
                                                                 direction: .request, reader: reader)
        }
        if let value = section.value("response_headers") {
            config.responseHeaders = try HeaderEditsSection.parse(value, path: section.child("response_headers"),
                                                                  direction: .response, reader: reader)
        }
        config.weightSpans = split.entries.map { span(of: $0.value, reader: reader) }
        config.rampSpan = section.value("ramp").map { span(of: $0, reader: reader) }
        config.rampInsertion = rampInsertion(node, reader: reader)
        return Parsed(config: config, poolKeyNodes: split.entries.map(\.keyNode))
    }

    /// `header:NAME`, `cookie:NAME` or `client_address`.
    static func hashOn(_ node: Node, _ path: String, reader: NodeReader) throws(ConfigError) -> HashOnConfig {
        let value = try reader.string(node, path)
        if value == "client_address" { return .clientAddress }
        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
        if parts.count == 2, Tokens.isHTTPToken(parts[1]) {
            if parts[0] == "header" { return .header(parts[1]) }
            if parts[0] == "cookie" { return .cookie(parts[1]) }
        }
        throw reader.error(node, "invalid '\(path)': expected header:NAME, cookie:NAME or client_address, found '\(value)'")
    }

    /// Where and how a scalar is written, for `SplitRewrite`.
    static func span(of node: Node, reader: NodeReader) -> ScalarSpan {
        guard case .scalar(let scalar) = node else {
            return ScalarSpan(location: reader.location(of: node), value: "", quoting: .other)
        }
        let quoting: ScalarSpan.Quoting
        switch scalar.style {
        case .plain: quoting = .plain
        case .singleQuoted: quoting = .single
        case .doubleQuoted: quoting = .double
        default: quoting = .other
        }
        return ScalarSpan(location: reader.location(of: node), value: scalar.string, quoting: quoting)
    }

    /// Where `ramp:` could go. Whether the mapping is flow or block is read from the text at its
    /// start by `SplitRewrite`: Yams reports a mapping's style from its end event, not its start.
    static func rampInsertion(_ node: Node, reader: NodeReader) -> RampInsertion? {
        guard case .mapping(let mapping) = node else { return nil }
        let key = mapping.first(where: { $0.key.scalar?.string == "pools" })?.key
        return RampInsertion(mapping: reader.location(of: node), poolsKey: key.map(reader.location(of:)))
    }
}

import Yams

/// `pools:` — a mapping of pool name to `{balance, backends, health_check, passive, slow_start,
/// deregistration_delay, tls}`. A pool no route uses is allowed: the standby colour is often
/// defined before any route points at it.
enum PoolSection {
    static let keys = ["balance", "backends", "health_check", "passive", "slow_start", "deregistration_delay", "tls"]
    /// Backend weights are 0...256 as in HAProxy: 0 keeps a backend defined but unused, and 256
    /// gives enough resolution for any realistic capacity ratio.
    static let backendWeights = 0...256

    static func parseAll(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> [PoolConfig] {
        let pools = try reader.namedEntries(node, path)
        guard !pools.entries.isEmpty else { throw reader.error(node, "invalid '\(path)': must not be empty") }
        var parsed: [PoolConfig] = []
        for entry in pools.entries {
            let name = try NameRules.name(entry.keyNode, path, what: "pool name", reader: reader)
            parsed.append(try parse(entry.value, name: name, path: pools.child(name),
                                    location: reader.location(of: entry.keyNode), reader: reader))
        }
        return parsed
    }

    static func parse(_ node: Node, name: String, path: String, location: SourceLocation,
                      reader: NodeReader) throws(ConfigError) -> PoolConfig {
        let section = try reader.section(node, path, allowed: keys)
        var balance = BalanceAlgorithm.roundRobin
        if let value = section.value("balance") {
            balance = try reader.choice(value, section.child("balance"), as: BalanceAlgorithm.self)
        }
        let backendsNode = try section.required("backends")
        let backends = try parseBackends(backendsNode, path: section.child("backends"), reader: reader)
        var healthCheck: HealthCheckConfig?
        if let value = section.value("health_check") {
            healthCheck = try HealthCheckSection.parse(value, path: section.child("health_check"), reader: reader)
        }
        var passive: PassiveHealthConfig?
        if let value = section.value("passive") {
            passive = try HealthCheckSection.parsePassive(value, path: section.child("passive"), reader: reader)
        }
        var slowStart = Duration(nanoseconds: 0)
        if let value = section.value("slow_start") {
            slowStart = try reader.duration(value, section.child("slow_start"), allowZero: true)
        }
        var deregistrationDelay = Duration.seconds(30)
        if let value = section.value("deregistration_delay") {
            deregistrationDelay = try reader.duration(value, section.child("deregistration_delay"), allowZero: true)
        }
        var tls: UpstreamTLSConfig?
        if let value = section.value("tls") { tls = try parseTLS(value, path: section.child("tls"), reader: reader) }
        var pool = PoolConfig(name: name, balance: balance, backends: backends, healthCheck: healthCheck,
                              passive: passive, slowStart: slowStart, deregistrationDelay: deregistrationDelay,
                              tls: tls, location: location)
        var ownKey: SourceLocation?
        if case .mapping(let mapping) = node, let key = mapping.first(where: { $0.key.scalar?.string == "backends" })?.key {
            ownKey = reader.location(of: key)
        }
        pool.backendList = BackendListSpans(list: reader.location(of: backendsNode), key: ownKey)
        return pool
    }

    /// A non-empty list of `{address, weight, state}`. An address may appear once per pool: backend
    /// state is keyed by pool + address, so a twin would share (and corrupt) its state.
    static func parseBackends(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> [BackendConfig] {
        var backends: [BackendConfig] = []
        for (index, item) in try reader.list(node, path, nonEmpty: true).enumerated() {
            let section = try reader.section(item, "\(path)[\(index)]", allowed: ["address", "weight", "state"])
            let addressNode = try section.required("address")
            let address = try reader.hostPort(addressNode, section.child("address"))
            if let twin = backends.first(where: { $0.address == address }) {
                throw reader.error(addressNode, "duplicate backend \(address) in '\(path)' (first on line \(twin.location.line))")
            }
            var weight = 1
            if let value = section.value("weight") {
                weight = try reader.int(value, section.child("weight"), in: backendWeights)
            }
            var state = BackendAdminState.active
            if let value = section.value("state") {
                state = try reader.choice(value, section.child("state"), as: BackendAdminState.self)
            }
            backends.append(BackendConfig(address: address, weight: weight, location: reader.location(of: item),
                                          state: state, spans: spans(of: item, section, reader: reader)))
        }
        return backends
    }

    /// Where a backend entry's values are written, for `BackendRewrite`.
    static func spans(of item: Node, _ section: MappingSection, reader: NodeReader) -> BackendSpans? {
        guard let address = section.value("address") else { return nil }
        var spans = BackendSpans(address: RouteSection.span(of: address, reader: reader))
        if let entry = section.entries.first(where: { $0.key == "weight" }) {
            spans.weight = RouteSection.span(of: entry.value, reader: reader)
        }
        if let entry = section.entries.first(where: { $0.key == "state" }) {
            spans.stateKey = reader.location(of: entry.keyNode)
            spans.state = RouteSection.span(of: entry.value, reader: reader)
        }
        if case .mapping(let mapping) = item {
            spans.merges = mapping.contains { $0.key.scalar?.string == "<<" }
        }
        return spans
    }

    /// `tls: { verify, ca, sni }` towards the backends; `verify` defaults to true so that turning TLS
    /// on never silently turns certificate checking off.
    static func parseTLS(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> UpstreamTLSConfig {
        let section = try reader.section(node, path, allowed: ["verify", "ca", "sni"])
        var config = UpstreamTLSConfig(verify: true, ca: nil, sni: nil, location: reader.location(of: node))
        if let value = section.value("verify") { config.verify = try reader.bool(value, section.child("verify")) }
        if let value = section.value("ca") { config.ca = try reader.string(value, section.child("ca")) }
        if let value = section.value("sni") { config.sni = try reader.string(value, section.child("sni")) }
        return config
    }
}

import Yams

/// `timeouts:` — every timeout must be positive (0 would mean "give up at once"), except
/// `shutdown_delay`, where 0 means "close the listeners as soon as SIGTERM arrives".
enum TimeoutsSection {
    static func parse(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> TimeoutsConfig {
        let keys = ["connect", "client_header", "upstream_response", "idle", "shutdown_delay", "shutdown"]
        let section = try reader.section(node, path, allowed: keys)
        var config = TimeoutsConfig()
        func read(_ key: String, allowZero: Bool = false) throws(ConfigError) -> Duration? {
            guard let value = section.value(key) else { return nil }
            return try reader.duration(value, section.child(key), allowZero: allowZero)
        }
        if let value = try read("connect") { config.connect = value }
        if let value = try read("client_header") { config.clientHeader = value }
        if let value = try read("upstream_response") { config.upstreamResponse = value }
        if let value = try read("idle") { config.idle = value }
        if let value = try read("shutdown_delay", allowZero: true) { config.shutdownDelay = value }
        if let value = try read("shutdown") { config.shutdown = value }
        return config
    }
}

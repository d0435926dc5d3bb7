import Yams

/// `limits:` — `max_connections` ≥ 1; `max_header_bytes` 1 KiB...1 MiB (below 1 KiB ordinary
/// browsers fail; above 1 MiB one client could pin a worker's memory).
enum LimitsSection {
    static func parse(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> LimitsConfig {
        let section = try reader.section(node, path, allowed: ["max_connections", "max_header_bytes"])
        var config = LimitsConfig()
        if let value = section.value("max_connections") {
            config.maxConnections = try reader.int(value, section.child("max_connections"), in: 1...Int.max)
        }
        if let value = section.value("max_header_bytes") {
            config.maxHeaderBytes = try reader.int(value, section.child("max_header_bytes"), in: 1024...1_048_576)
        }
        return config
    }
}

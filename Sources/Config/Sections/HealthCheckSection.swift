import Yams

/// `health_check:` (active probes) and `passive:` (ejection after consecutive failures).
///
/// Defaults follow HAProxy: every 2s, 1s timeout, healthy after 2 successes, unhealthy after 3
/// failures, any 2xx or 3xx counts as up.
enum HealthCheckSection {
    static let keys = ["type", "path", "host", "port", "interval", "timeout", "rise", "fall", "expect_status"]
    /// Keys that only mean something for an HTTP probe; given with `type: tcp` they would silently do
    /// nothing, so they are errors.
    static let httpOnlyKeys = ["path", "host", "expect_status"]

    static func parse(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> HealthCheckConfig {
        let section = try reader.section(node, path, allowed: keys)
        var config = HealthCheckConfig(type: .http, path: "/", host: nil, port: nil,
                                       interval: .seconds(2), timeout: .seconds(1), rise: 2, fall: 3,
                                       expectStatus: [200...399])
        if let value = section.value("type") {
            config.type = try reader.choice(value, section.child("type"), as: HealthCheckType.self)
        }
        if config.type == .tcp, let entry = section.entries.first(where: { httpOnlyKeys.contains($0.key) }) {
            throw reader.error(entry.keyNode, "'\(entry.key)' only applies to 'type: http' health checks")
        }
        if let value = section.value("path") {
            let probePath = try reader.string(value, section.child("path"))
            guard probePath.hasPrefix("/"),
                  probePath.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
                throw reader.error(value, "invalid '\(section.child("path"))': must start with '/' and contain no spaces, found '\(probePath)'")
            }
            config.path = probePath
        }
        if let value = section.value("host") { config.host = try reader.string(value, section.child("host")) }
        if let value = section.value("port") {
            config.port = UInt16(try reader.int(value, section.child("port"), in: 1...65535))
        }
        if let value = section.value("interval") {
            config.interval = try reader.duration(value, section.child("interval"), allowZero: false)
        }
        if let value = section.value("timeout") {
            config.timeout = try reader.duration(value, section.child("timeout"), allowZero: false)
        }
        if let value = section.value("rise") { config.rise = try reader.int(value, section.child("rise"), in: 1...Int.max) }
        if let value = section.value("fall") { config.fall = try reader.int(value, section.child("fall"), in: 1...Int.max) }
        if let value = section.value("expect_status") {
            let raw = try reader.text(value, section.child("expect_status"), expected: "status codes like 200-399")
            do {
                config.expectStatus = try StatusRanges.parse(raw)
            } catch {
                throw reader.error(value, "invalid '\(section.child("expect_status"))': \(error.message)")
            }
        }
        return config
    }

    static func parsePassive(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> PassiveHealthConfig {
        let section = try reader.section(node, path, allowed: ["consecutive_failures", "eject_for"])
        var config = PassiveHealthConfig(consecutiveFailures: 5, ejectFor: .seconds(30))
        if let value = section.value("consecutive_failures") {
            config.consecutiveFailures = try reader.int(value, section.child("consecutive_failures"), in: 1...Int.max)
        }
        if let value = section.value("eject_for") {
            config.ejectFor = try reader.duration(value, section.child("eject_for"), allowZero: false)
        }
        return config
    }
}

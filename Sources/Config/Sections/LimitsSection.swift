import Yams

/// `limits:` — `max_connections` ≥ 1; `max_header_bytes` 1 KiB...1 MiB (below 1 KiB ordinary
/// browsers fail; above 1 MiB one client could pin a worker's memory); HTTP/2:
/// `http2_max_concurrent_streams` 1...1000, `http2_stream_window` 64 KiB − 1...16 MiB (a client's
/// request body bytes in flight per stream before it must wait for us to forward them),
/// `http2_max_header_list_bytes` 1 KiB...1 MiB.
enum LimitsSection {
    static func parse(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> LimitsConfig {
        let section = try reader.section(node, path, allowed: ["max_connections", "max_header_bytes",
                                                              "http2_max_concurrent_streams", "http2_stream_window",
                                                              "http2_max_header_list_bytes"])
        var config = LimitsConfig()
        if let value = section.value("max_connections") {
            config.maxConnections = try reader.int(value, section.child("max_connections"), in: 1...Int.max)
        }
        if let value = section.value("max_header_bytes") {
            config.maxHeaderBytes = try reader.int(value, section.child("max_header_bytes"), in: 1024...1_048_576)
        }
        if let value = section.value("http2_max_concurrent_streams") {
            config.http2MaxConcurrentStreams = try reader.int(value, section.child("http2_max_concurrent_streams"), in: 1...1000)
        }
        if let value = section.value("http2_stream_window") {
            config.http2StreamWindow = try reader.int(value, section.child("http2_stream_window"), in: 65_535...16_777_216)
        }
        if let value = section.value("http2_max_header_list_bytes") {
            config.http2MaxHeaderListBytes = try reader.int(value, section.child("http2_max_header_list_bytes"), in: 1024...1_048_576)
        }
        return config
    }
}

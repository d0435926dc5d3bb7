import EventLoop

/// The facts of one answered request that its access-log line shows. Built on the worker when
/// the exchange ends; the byte spans and names are borrowed (from the exchange's capture and the
/// routing snapshot) for as long as the line is formatted.
struct AccessLogEntry {
    /// When the request head was complete: nanoseconds since the Unix epoch.
    var wallStart: Int64
    var client: SocketAddress
    var method: UnsafeRawBufferPointer
    var target: UnsafeRawBufferPointer
    var status: Int
    /// Request bytes read from the client (head and body) and response bytes sent to it.
    var bytesIn: UInt64
    var bytesOut: UInt64
    /// Nanoseconds from the complete request head to the end of the exchange.
    var duration: UInt64
    /// Nanoseconds the upstream took (nil: no upstream exchange, the proxy answered itself).
    var upstreamDuration: UInt64?
    var route: String?
    var pool: String?
    var backend: String?
    var generation: UInt64
    /// The client's protocol: `HTTP/1.1`, `HTTP/1.0` or `HTTP/2.0`.
    var protocolVersion: StaticString = "HTTP/1.1"

    /// The JSON line, newline included:
    /// `{"time":"…","client":"127.0.0.1","client_port":50432,"method":"GET","target":"/","protocol":"HTTP/1.1",`
    /// `"status":200,"bytes_in":78,"bytes_out":162,"duration":0.000412,`
    /// `"upstream_duration":0.000301,"route":"app","pool":"blue","backend":"127.0.0.1:9001",`
    /// `"generation":1}`. Unknown values are `null`.
    func write(into line: inout JSONLineWriter, clock: inout WallClockText) {
        line.raw("{\"time\":\"")
        line.reserve(exactly: WallClockText.length) { clock.write(nanoseconds: wallStart, into: $0) }
        line.raw("\",\"client\":\"")
        line.host(client)
        line.raw("\",\"client_port\":")
        line.integer(UInt64(client.port))
        line.raw(",\"method\":")
        line.string(method)
        line.raw(",\"target\":")
        line.string(target)
        line.raw(",\"protocol\":\"")
        line.raw(protocolVersion)
        line.raw("\"")
        line.raw(",\"status\":")
        line.integer(UInt64(max(0, status)))
        line.raw(",\"bytes_in\":")
        line.integer(bytesIn)
        line.raw(",\"bytes_out\":")
        line.integer(bytesOut)
        line.raw(",\"duration\":")
        line.seconds(nanoseconds: duration)
        line.raw(",\"upstream_duration\":")
        if let upstreamDuration { line.seconds(nanoseconds: upstreamDuration) } else { line.null() }
        line.raw(",\"route\":")
        if let route { line.string(route) } else { line.null() }
        line.raw(",\"pool\":")
        if let pool { line.string(pool) } else { line.null() }
        line.raw(",\"backend\":")
        if let backend { line.string(backend) } else { line.null() }
        line.raw(",\"generation\":")
        line.integer(generation)
        line.raw("}\n")
    }
}

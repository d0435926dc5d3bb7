/// `cluster:` — a fleet of cutover instances switched together through etcd (see `Fleet`).
public struct ClusterConfig: Sendable, Hashable {
    /// One etcd client URL: `http://HOST:PORT` (the v3 JSON gateway; no TLS yet).
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: UInt16
        public init(host: String, port: UInt16) { self.host = host; self.port = port }
        public var address: HostPort { HostPort(host: host, port: port) }
        public var description: String { "http://\(address)" }
    }

    /// Tried in turn until one answers.
    public var endpoints: [Endpoint]
    /// Every key of this fleet lives under it, e.g. `/cutover/prod` (no trailing slash).
    public var prefix: String
    /// This instance's name in the fleet (`instance:`, by default the host name).
    public var instance: String
    /// Where `cluster:` is written.
    public var location: SourceLocation

    public init(endpoints: [Endpoint], prefix: String, instance: String, location: SourceLocation) {
        self.endpoints = endpoints
        self.prefix = prefix
        self.instance = instance
        self.location = location
    }

    public static func == (a: ClusterConfig, b: ClusterConfig) -> Bool {
        a.endpoints == b.endpoints && a.prefix == b.prefix && a.instance == b.instance
    }
    public func hash(into h: inout Hasher) {
        h.combine(endpoints)
        h.combine(prefix)
        h.combine(instance)
    }
}

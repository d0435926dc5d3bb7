/// The validated configuration: what `cutover.yaml` says, with every default filled in and every
/// cross-reference checked. Immutable; a reload builds a new one.

/// A duration in nanoseconds ("250ms", "2s", "5m", "1h").
public struct Duration: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func seconds(_ s: Int64) -> Duration { Duration(nanoseconds: s * 1_000_000_000) }
    public static func milliseconds(_ ms: Int64) -> Duration { Duration(nanoseconds: ms * 1_000_000) }
    public static func < (a: Duration, b: Duration) -> Bool { a.nanoseconds < b.nanoseconds }
    public var description: String {
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000)s" }
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        return "\(nanoseconds)ns"
    }
}

/// `HOST:PORT`; IPv6 hosts are written `[::1]:8080` and stored without brackets.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public init(host: String, port: UInt16) { self.host = host; self.port = port }
    public var isIPv6: Bool { host.contains(":") }
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Where in the file a value came from, so later checks (and reload errors) can point at it.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) { self.file = file; self.line = line; self.column = column }
    public var description: String { "\(file):\(line):\(column)" }
}

/// A config error: always `FILE:LINE:COLUMN: message`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public init(_ location: SourceLocation, _ message: String) { self.location = location; self.message = message }
    public var description: String { "\(location): \(message)" }
}

public enum WorkerCount: Sendable, Hashable {
    case auto
    case fixed(Int)
}

public struct AdminConfig: Sendable, Hashable {
    public var listen: HostPort
    public var token: String?
    /// Where `listen` is written, so a bind error at start-up can point at it.
    public var location: SourceLocation
}

public enum ListenerProtocol: String, Sendable, Hashable, CaseIterable {
    case http
    case tcp
}

public struct CertificateConfig: Sendable, Hashable {
    public var cert: String
    public var key: String
    /// Where the entry is written, for errors about its files (found only when they are loaded).
    /// Not part of equality: moving text around is not a change.
    public var location: SourceLocation

    public init(cert: String, key: String, location: SourceLocation) {
        self.cert = cert
        self.key = key
        self.location = location
    }

    public static func == (a: CertificateConfig, b: CertificateConfig) -> Bool { a.cert == b.cert && a.key == b.key }
    public func hash(into h: inout Hasher) {
        h.combine(cert)
        h.combine(key)
    }
}

public struct ListenerTLSConfig: Sendable, Hashable {
    public var certificates: [CertificateConfig]
}

public struct ListenerConfig: Sendable, Hashable {
    public var name: String
    public var listen: HostPort
    public var proto: ListenerProtocol
    public var route: String
    public var tls: ListenerTLSConfig?
    public var location: SourceLocation
    /// `rules:` in order, first match wins; `route` takes what none matches.
    public var rules: [RuleConfig] = []
    /// `http2:` — on a TLS listener ALPN `h2` (the default there); `h2c` on a plain one (prior
    /// knowledge); `off`.
    public var http2: HTTP2Mode = .off
}

public enum HTTP2Mode: String, Sendable, Hashable {
    case off
    /// ALPN h2 on a TLS listener.
    case alpn
    /// HTTP/2 with prior knowledge on a plain listener (clients that start with the preface).
    case h2c
}

public struct StickyConfig: Sendable, Hashable {
    public var cookie: String
}

public struct OverrideConfig: Sendable, Hashable {
    public var header: String
    /// CIDR blocks as written ("127.0.0.0/8", "::1/128"); validated.
    public var allowFrom: [String]
}

/// A scalar exactly as the file spells it: where it starts and how it is written, so a tool
/// (`cutover switch`, see `SplitRewrite`) can replace just those characters and leave every
/// comment, blank line and space of the file as it was.
public struct ScalarSpan: Sendable, Hashable {
    public enum Quoting: Sendable, Hashable {
        case plain, single, double
        /// A block scalar (`|`, `>`) or a tagged oddity: not rewritten in place.
        case other
    }
    /// Where the scalar starts (at its opening quote when quoted). The column counts Unicode
    /// scalars, as Yams does.
    public var location: SourceLocation
    /// The scalar's value (without quotes).
    public var value: String
    public var quoting: Quoting
    public init(location: SourceLocation, value: String, quoting: Quoting) {
        self.location = location
        self.value = value
        self.quoting = quoting
    }
}

/// Where a `ramp:` entry can be added to a route that has none.
public struct RampInsertion: Sendable, Hashable {
    /// Where the route's mapping starts: at its `{` when it is a flow mapping (then `ramp` goes
    /// before the closing brace), else at its first key.
    public var mapping: SourceLocation
    /// A block mapping's own `pools:` key (`ramp` goes on a new line after that entry, indented
    /// alike); nil when `pools` comes from a merge key (`<<: *base`), where a line added next to
    /// the anchor would change every route that merges it.
    public var poolsKey: SourceLocation?
    public init(mapping: SourceLocation, poolsKey: SourceLocation?) {
        self.mapping = mapping
        self.poolsKey = poolsKey
    }
}

public struct RouteConfig: Sendable, Hashable {
    public var name: String
    /// Pool name → split weight, in the order written in the file.
    public var pools: [(name: String, weight: Int)]
    public var ramp: Duration
    public var sticky: StickyConfig?
    public var override: OverrideConfig?
    public var location: SourceLocation
    /// Where each split weight is written, in `pools` order. Source positions only: not part of
    /// equality, so moving text around is not a change.
    public var weightSpans: [ScalarSpan] = []
    /// Where `ramp` is written; nil when the route has no `ramp:`.
    public var rampSpan: ScalarSpan? = nil
    /// Where a `ramp:` can be added.
    public var rampInsertion: RampInsertion? = nil
    /// The automated canary policy (`rollout:`); nil when the route has none.
    public var rollout: RolloutConfig? = nil
    /// `hash_on:` — stable cohorts: the pool is picked from a hash of this key when it is there.
    public var hashOn: HashOnConfig? = nil
    public var requestHeaders = HeaderEditsConfig()
    public var responseHeaders = HeaderEditsConfig()

    public static func == (a: RouteConfig, b: RouteConfig) -> Bool {
        a.name == b.name && a.pools.map(\.name) == b.pools.map(\.name)
            && a.pools.map(\.weight) == b.pools.map(\.weight) && a.ramp == b.ramp
            && a.sticky == b.sticky && a.override == b.override && a.location == b.location
            && a.rollout == b.rollout && a.hashOn == b.hashOn
            && a.requestHeaders == b.requestHeaders && a.responseHeaders == b.responseHeaders
    }
    public func hash(into h: inout Hasher) {
        h.combine(name)
        for p in pools { h.combine(p.name); h.combine(p.weight) }
    }
}

public enum BalanceAlgorithm: String, Sendable, Hashable, CaseIterable {
    case roundRobin = "round_robin"
    case leastRequest = "least_request"
    case random
}

/// What the operator wants of a backend (`state:` in its entry), apart from what health checks
/// find: `drain` keeps it defined, finishes its connections and sends it no new work.
public enum BackendAdminState: String, Sendable, Hashable, CaseIterable {
    case active
    case drain
}

/// Where one backend entry and its values are written, so `BackendRewrite` can edit it in the
/// file's text.
public struct BackendSpans: Sendable, Hashable {
    /// The `address` scalar.
    public var address: ScalarSpan
    /// The `weight` value; nil when the entry has no `weight:`.
    public var weight: ScalarSpan?
    /// The `state` key and its value; nil when the entry has no `state:`.
    public var stateKey: SourceLocation?
    public var state: ScalarSpan?
    /// True when the entry takes keys from a merge key (`<<: *base`): not edited in place.
    public var merges: Bool
    public init(address: ScalarSpan, weight: ScalarSpan? = nil,
                stateKey: SourceLocation? = nil, state: ScalarSpan? = nil, merges: Bool = false) {
        self.address = address
        self.weight = weight
        self.stateKey = stateKey
        self.state = state
        self.merges = merges
    }
}

/// Where a pool's `backends:` list is written, for `BackendRewrite`.
public struct BackendListSpans: Sendable, Hashable {
    /// Where the list starts: its `[`, or the `-` of its first entry (an anchor's `&` when it has one).
    public var list: SourceLocation
    /// The pool's own `backends` key; nil when the list comes from a merge key.
    public var key: SourceLocation?
    public init(list: SourceLocation, key: SourceLocation?) {
        self.list = list
        self.key = key
    }
}

public struct BackendConfig: Sendable, Hashable {
    public var address: HostPort
    public var weight: Int
    public var location: SourceLocation
    /// `state:`; `active` unless the entry says `drain`.
    public var state: BackendAdminState = .active
    /// Where the entry's values are written. Source positions only: not part of equality.
    public var spans: BackendSpans? = nil

    public init(address: HostPort, weight: Int, location: SourceLocation, state: BackendAdminState = .active,
                spans: BackendSpans? = nil) {
        self.address = address
        self.weight = weight
        self.location = location
        self.state = state
        self.spans = spans
    }

    public static func == (a: BackendConfig, b: BackendConfig) -> Bool {
        a.address == b.address && a.weight == b.weight && a.location == b.location && a.state == b.state
    }
    public func hash(into h: inout Hasher) {
        h.combine(address)
        h.combine(weight)
        h.combine(location)
        h.combine(state)
    }
}

public enum HealthCheckType: String, Sendable, Hashable, CaseIterable {
    case http
    case tcp
}

public struct HealthCheckConfig: Sendable, Hashable {
    public var type: HealthCheckType
    public var path: String
    public var host: String?
    public var port: UInt16?
    public var interval: Duration
    public var timeout: Duration
    public var rise: Int
    public var fall: Int
    /// Inclusive status ranges, e.g. 200-399 → [200...399].
    public var expectStatus: [ClosedRange<Int>]
}

public struct PassiveHealthConfig: Sendable, Hashable {
    public var consecutiveFailures: Int
    public var ejectFor: Duration
}

public struct UpstreamTLSConfig: Sendable, Hashable {
    public var verify: Bool
    public var ca: String?
    public var sni: String?
    /// Where `tls:` is written, for errors about the `ca` file. Not part of equality.
    public var location: SourceLocation

    public init(verify: Bool, ca: String?, sni: String?, location: SourceLocation) {
        self.verify = verify
        self.ca = ca
        self.sni = sni
        self.location = location
    }

    public static func == (a: UpstreamTLSConfig, b: UpstreamTLSConfig) -> Bool {
        a.verify == b.verify && a.ca == b.ca && a.sni == b.sni
    }
    public func hash(into h: inout Hasher) {
        h.combine(verify)
        h.combine(ca)
        h.combine(sni)
    }
}

public struct PoolConfig: Sendable, Hashable {
    public var name: String
    public var balance: BalanceAlgorithm
    public var backends: [BackendConfig]
    public var healthCheck: HealthCheckConfig?
    public var passive: PassiveHealthConfig?
    public var slowStart: Duration
    public var deregistrationDelay: Duration
    public var tls: UpstreamTLSConfig?
    public var location: SourceLocation
    /// Where `backends:` is written. Source positions only: not part of equality.
    public var backendList: BackendListSpans? = nil

    public static func == (a: PoolConfig, b: PoolConfig) -> Bool {
        a.name == b.name && a.balance == b.balance && a.backends == b.backends && a.healthCheck == b.healthCheck
            && a.passive == b.passive && a.slowStart == b.slowStart && a.deregistrationDelay == b.deregistrationDelay
            && a.tls == b.tls && a.location == b.location
    }
    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(backends)
        h.combine(location)
    }
}

public struct TimeoutsConfig: Sendable, Hashable {
    public var connect: Duration = .seconds(3)
    public var clientHeader: Duration = .seconds(10)
    public var upstreamResponse: Duration = .seconds(60)
    public var idle: Duration = .seconds(60)
    public var shutdownDelay: Duration = .seconds(0)
    public var shutdown: Duration = .seconds(30)
    public init() {}
}

public struct LimitsConfig: Sendable, Hashable {
    public var maxConnections: Int = 10000
    public var maxHeaderBytes: Int = 16384
    public var http2MaxConcurrentStreams: Int = 100
    public var http2StreamWindow: Int = 65_535
    public var http2MaxHeaderListBytes: Int = 65_536
    public init() {}
}

public enum AccessLogConfig: Sendable, Hashable {
    case off
    case stdout
    case file(String)
}

public struct CutoverConfig: Sendable {
    /// The file this config was read from (as given on the command line).
    public var file: String
    public var workers: WorkerCount
    public var admin: AdminConfig?
    public var listeners: [ListenerConfig]
    /// In file order.
    public var routes: [RouteConfig]
    /// In file order.
    public var pools: [PoolConfig]
    public var timeouts: TimeoutsConfig
    public var limits: LimitsConfig
    public var accessLog: AccessLogConfig
    /// Where `access_log` was set (nil: not set), for errors about the file.
    public var accessLogLocation: SourceLocation? = nil
    /// Where runtime state that must outlive the process (a rollout in progress) is written;
    /// `state_dir`, by default the config file's directory.
    public var stateDirectory: String = "."
    /// `cluster:` — this instance is one of a fleet switched through etcd; nil: on its own.
    public var cluster: ClusterConfig? = nil
    /// What the file allows but an operator should hear about (an unreachable rule, say).
    public var warnings: [ConfigWarning] = []

    public func route(named name: String) -> RouteConfig? { routes.first { $0.name == name } }
    public func pool(named name: String) -> PoolConfig? { pools.first { $0.name == name } }
}

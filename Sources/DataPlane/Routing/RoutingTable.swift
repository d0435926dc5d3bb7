import Balancer
import EventLoop
import TLS

/// Everything a worker needs to route, as one immutable snapshot. The control plane builds a new
/// one per config generation and posts it to every worker; a worker swaps its reference between
/// loop iterations, so every request is routed under exactly one generation.
public final class RoutingTable: Sendable {
    public let generation: UInt64
    public let routes: [Route]
    public let pools: [Pool]
    public let settings: ProxySettings

    public init(generation: UInt64, routes: [Route], pools: [Pool], settings: ProxySettings) {
        self.generation = generation
        self.routes = routes
        self.pools = pools
        self.settings = settings
    }

    /// How many route, pool and backend metric ids the workers' series need room for.
    var metricsWidth: (routes: Int, pools: Int, backends: Int) {
        ((routes.map(\.metricsID).max() ?? -1) + 1,
         (pools.map(\.metricsID).max() ?? -1) + 1,
         (pools.flatMap(\.backends).map(\.id).max() ?? -1) + 1)
    }

    /// A class, not a struct: the request path reads a route's fields many times per request, and
    /// reading a field of a struct in an array copies the whole struct (a retain and release for
    /// each of its references); a class reference is borrowed from the table for free.
    public final class Route: Sendable {
        public let name: String
        /// The name as bytes: the salt of its cohort hash and the `${route}` of header edits.
        public let nameBytes: [UInt8]
        /// Indices into `pools`, with the split weight of each.
        public let pools: [(index: Int, weight: Int)]
        public let sticky: StickyRule?
        public let override: OverrideRule?
        /// `hash_on`: the pool is picked from a hash of this key when the request has it.
        public let hashOn: CohortKey?
        public let requestEdits: HeaderEdits
        public let responseEdits: HeaderEdits
        /// Stable across reloads for the route's name: the workers' series are indexed by it.
        public let metricsID: Int

        public init(name: String, pools: [(index: Int, weight: Int)], sticky: StickyRule? = nil, override: OverrideRule? = nil,
                    hashOn: CohortKey? = nil, requestEdits: HeaderEdits = .none, responseEdits: HeaderEdits = .none,
                    metricsID: Int = 0) {
            self.name = name
            nameBytes = Array(name.utf8)
            self.metricsID = metricsID
            self.pools = pools
            self.sticky = sticky
            self.override = override
            self.hashOn = hashOn
            self.requestEdits = requestEdits
            self.responseEdits = responseEdits
        }
    }

    /// What a route's stable cohorts are keyed by.
    public enum CohortKey: Sendable {
        /// The first field of this name (its value as sent).
        case header([UInt8])
        case cookie([UInt8])
        /// The client's IP address (as text, without the port).
        case clientAddress
    }

    /// `sticky.cookie`: while the split is fractional a client keeps the pool its cookie names.
    public struct StickyRule: Sendable {
        public var cookieName: [UInt8]
        /// Per pool slot of the route, the complete `Set-Cookie: …\r\n` line that assigns it.
        public var setCookieLines: [[UInt8]]

        public init(cookieName: String, poolNames: [String]) {
            self.cookieName = Array(cookieName.utf8)
            setCookieLines = poolNames.map { Array("Set-Cookie: \(cookieName)=\($0); Path=/; HttpOnly; SameSite=Lax\r\n".utf8) }
        }
    }

    /// `override`: a request from an allowed address may name its pool in a header. The header is
    /// never forwarded.
    public struct OverrideRule: Sendable {
        public var headerName: [UInt8]
        public var allowFrom: [AddressBlock]

        public init(headerName: String, allowFrom: [AddressBlock]) {
            self.headerName = Array(headerName.utf8)
            self.allowFrom = allowFrom
        }

        public func allows(_ address: SocketAddress) -> Bool {
            allowFrom.contains { $0.contains(address) }
        }
    }

    public struct Pool: Sendable {
        public var name: String
        public var balance: BalancerKind
        /// How long connections still open on a backend removed from this pool may last.
        public var deregistrationDelay: UInt64 = 30_000_000_000
        public var backends: [Backend]
        /// The name as bytes, for a Host field the proxy must supply (no String work per request).
        public let hostBytes: [UInt8]
        /// Stable across reloads for the pool's name: the workers' series are indexed by it.
        public var metricsID: Int
        /// `passive.consecutive_failures`: a worker that sees this many failures in a row on one
        /// backend asks the control plane to eject it. nil: no passive health.
        public var ejectAfterFailures: Int?
        /// `tls:` — connections to this pool's backends speak TLS.
        public var tls: UpstreamTLS?

        public init(name: String, balance: BalancerKind = .roundRobin, backends: [Backend], metricsID: Int = 0) {
            self.name = name
            self.metricsID = metricsID
            self.balance = balance
            self.backends = backends
            self.hostBytes = Array(name.utf8)
        }
    }

    public struct Backend: Sendable {
        /// Stable for the backend's identity (pool + address) across reloads and never reused:
        /// the worker's per-backend gauges are indexed by it, so they carry across snapshots.
        public var id: Int
        public var address: SocketAddress
        /// As written in the config (`127.0.0.1:9001`), for logs and labels.
        public var label: String
        public var weight: Int
        /// weight × SlowStart.weightScale × slow-start factor × usable (health, drain), as the
        /// control plane computed it when it built this snapshot; updated by `.setWeights`.
        public var effectiveWeight: Int
        /// In a pool with TLS: the name sent as SNI and verified (the pool's `sni`, else the
        /// backend's host as written).
        public var serverName = ""
        /// `state: drain` in the config: no new requests (its effective weight is 0), what runs
        /// on it finishes, and its idle upstream connections are closed when the snapshot arrives.
        public var drained = false

        public init(id: Int, address: SocketAddress, label: String, weight: Int, effectiveWeight: Int) {
            self.id = id
            self.address = address
            self.label = label
            self.weight = weight
            self.effectiveWeight = effectiveWeight
        }
    }
}

/// Timeouts (nanoseconds) and limits the data plane enforces.
public struct ProxySettings: Sendable, Equatable {
    public var connectTimeout: UInt64 = 3_000_000_000
    public var clientHeaderTimeout: UInt64 = 10_000_000_000
    public var upstreamResponseTimeout: UInt64 = 60_000_000_000
    public var idleTimeout: UInt64 = 60_000_000_000
    public var maxConnections: Int = 10000
    public var maxHeaderBytes: Int = 16384
    /// Idle upstream connections kept per backend per worker: enough for every client
    /// connection to have its exchange's upstream come back (a smaller bound turns each request
    /// beyond it into a new connect and a TIME_WAIT, as 256 clients over 2×64 slots showed).
    public var maxIdleUpstreamsPerBackend: Int = 1024
    /// HTTP/2 clients: streams open at once per connection, a stream's receive window (request
    /// body bytes a client may send ahead of what was forwarded), the largest header list.
    public var http2MaxConcurrentStreams: Int = 100
    public var http2StreamWindow: Int = 65_535
    public var http2MaxHeaderList: Int = 65_536

    public init() {}
}

/// A listener as the data plane sees it: already-bound sockets come from the control plane, one
/// per worker (SO_REUSEPORT), so bind errors are reported before any worker starts.
public struct ListenerSpec: Sendable {
    public enum Kind: Sendable { case http, tcp }
    /// How clients reach HTTP/2: not at all, by ALPN `h2` (TLS), or with prior knowledge (h2c).
    public enum HTTP2: Sendable { case off, alpn, h2c }
    public var name: String
    public var kind: Kind
    public var routeName: String
    public var forwardedProto: ForwardedProto
    /// Stable across reloads for the listener's name: the workers' connection series use it.
    public var metricsID: Int
    /// TLS termination: new connections handshake with this context (a reload may hand a kept
    /// listener a new one; connections already made keep theirs).
    public var tls: TLSServerContext?
    /// `rules:` in order; `routeName` takes what none matches.
    public var rules: [RequestRule]
    public var http2: HTTP2 = .off

    public init(name: String, kind: Kind, routeName: String, forwardedProto: ForwardedProto = .http,
                tls: TLSServerContext? = nil, metricsID: Int = 0, rules: [RequestRule] = []) {
        self.name = name
        self.metricsID = metricsID
        self.kind = kind
        self.routeName = routeName
        self.forwardedProto = tls == nil ? forwardedProto : .https
        self.tls = tls
        self.rules = rules
    }
}

/// TLS towards a pool's backends: the client context and the profile number that keeps idle
/// connections of different TLS settings (or none) apart in the idle pool.
public final class UpstreamTLS: Sendable {
    public let context: TLSClientContext
    /// Above 0; the control plane gives equal settings the same number across reloads, so idle
    /// connections stay reusable after a reload.
    public let profile: Int

    public init(context: TLSClientContext, profile: Int) {
        self.context = context
        self.profile = profile
    }
}

public enum ForwardedProto: Sendable { case http, https }

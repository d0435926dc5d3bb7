import Foundation

/// The JSON bodies of the admin API. Public and Codable both ways, so the server that writes
/// them and the commands that read them (`cutover reload`, `cutover status`) cannot drift apart.
/// Keys are snake_case on the wire (`config_file`, `effective_weight`, `in_flight`).

/// `POST /reload`'s answer: `{"ok":true,"generation":N,"changes":[…]}` or
/// `{"ok":false,"error":"FILE:LINE:COLUMN: …"}`.
public struct AdminReloadAnswer: Codable, Sendable, Equatable {
    public var ok: Bool
    public var generation: UInt64?
    public var changes: [String]?
    public var error: String?

    public init(ok: Bool, generation: UInt64? = nil, changes: [String]? = nil, error: String? = nil) {
        self.ok = ok
        self.generation = generation
        self.changes = changes
        self.error = error
    }
}

/// `POST /upgrade`'s answer.
public struct UpgradeAnswer: Codable, Sendable {
    public var ok: Bool
    public var pid: Int32?
    public var error: String?
    public init(ok: Bool, pid: Int32? = nil, error: String? = nil) {
        self.ok = ok
        self.pid = pid
        self.error = error
    }
}

/// `GET /status`.
public struct AdminStatus: Codable, Sendable {
    public struct LastReload: Codable, Sendable {
        /// `success` or `failure`.
        public var result: String
        public var error: String?
        /// ISO 8601, UTC.
        public var at: String

        package init(result: String, error: String?, at: String) {
            self.result = result
            self.error = error
            self.at = at
        }
    }
    public struct Reloads: Codable, Sendable {
        public var success: Int
        public var failure: Int

        package init(success: Int, failure: Int) {
            self.success = success
            self.failure = failure
        }
    }
    public struct RoutePool: Codable, Sendable {
        public var name: String
        public var configuredWeight: Int
        /// The weight new requests are split by right now; differs from the configured one while
        /// a ramp is under way.
        public var effectiveWeight: Int

        package init(name: String, configuredWeight: Int, effectiveWeight: Int) {
            self.name = name
            self.configuredWeight = configuredWeight
            self.effectiveWeight = effectiveWeight
        }
    }
    public struct Route: Codable, Sendable {
        public var name: String
        public var pools: [RoutePool]

        package init(name: String, pools: [RoutePool]) {
            self.name = name
            self.pools = pools
        }
    }
    public struct Backend: Codable, Sendable {
        public var address: String
        public var weight: Int
        public var effectiveWeight: Int
        /// `checking`, `healthy`, `unhealthy` or `draining` (removed by a reload, or `state: drain`).
        public var state: String
        /// The config's `state`: `active` or `drain` (absent for a backend a reload removed).
        public var adminState: String?
        /// Health checks' view, also while draining: `checking`, `healthy`, `unhealthy`.
        public var health: String?
        /// Seconds until its slow start is over (0 once it takes its full share).
        public var slowStartSecondsLeft: Double?
        public var inFlight: Int
        public var connections: Int
        /// Answers the backend itself gave since start (every route), and its errors: 5xx answers
        /// plus failed exchanges (connect, timeout, reset, protocol).
        public var requests: Int = 0
        public var errors: Int = 0
        /// Only for `draining`: seconds until the deregistration delay closes what is left.
        public var drainSecondsLeft: Double?
        /// Passive health: `ejected` (no new requests until `ejected_seconds_left` is over), or
        /// `not ejected: last usable backend` (it failed enough, but its pool has no other).
        public var passive: String?
        public var ejectedSecondsLeft: Double?

        /// The optional fields start out nil, to be set by whoever builds the entry.
        package init(address: String, weight: Int, effectiveWeight: Int, state: String,
                     inFlight: Int, connections: Int, requests: Int, errors: Int) {
            self.address = address
            self.weight = weight
            self.effectiveWeight = effectiveWeight
            self.state = state
            self.inFlight = inFlight
            self.connections = connections
            self.requests = requests
            self.errors = errors
        }
    }
    public struct Pool: Codable, Sendable {
        public var name: String
        public var balance: String
        public var backends: [Backend]

        package init(name: String, balance: String, backends: [Backend]) {
            self.name = name
            self.balance = balance
            self.backends = backends
        }
    }
    public struct Listener: Codable, Sendable {
        public var name: String
        public var listen: String
        public var `protocol`: String
        public var route: String
        public var tls: Bool
        /// Its rules in order (absent when it has none).
        public var rules: [Rule]?

        package init(name: String, listen: String, `protocol`: String, route: String, tls: Bool, rules: [Rule]? = nil) {
            self.name = name
            self.listen = listen
            self.protocol = `protocol`
            self.route = route
            self.tls = tls
            self.rules = rules
        }
    }

    /// A listener's rule: what it matches, what it does, and how many requests it took.
    public struct Rule: Codable, Sendable {
        public var name: String
        /// The conditions and the action, as `cutover check` prints them.
        public var match: String
        /// The route it sends to (absent for `respond` and `redirect`).
        public var route: String?
        public var hits: Int

        package init(name: String, match: String, route: String?, hits: Int) {
            self.name = name
            self.match = match
            self.route = route
            self.hits = hits
        }
    }

    public struct Process: Codable, Sendable {
        public var pid: Int32
        public var version: String
        /// ISO 8601, UTC.
        public var startedAt: String

        package init(pid: Int32, version: String, startedAt: String) {
            self.pid = pid
            self.version = version
            self.startedAt = startedAt
        }
    }
    public struct LastUpgrade: Codable, Sendable {
        /// `success` or `failure`.
        public var result: String
        public var detail: String
        public var at: String

        package init(result: String, detail: String, at: String) {
            self.result = result
            self.detail = detail
            self.at = at
        }
    }

    public var generation: UInt64
    public var configFile: String
    /// The process serving (absent from proxies older than upgrades).
    public var process: Process?
    public var lastUpgrade: LastUpgrade?
    /// False once shutdown has begun (as `/ready`).
    public var ready: Bool
    public var workers: Int
    /// null until the first reload.
    public var lastReload: LastReload?
    public var reloads: Reloads
    public var routes: [Route]
    public var pools: [Pool]
    public var listeners: [Listener]
    /// Every route with a rollout policy or a rollout (absent from proxies older than rollouts).
    public var rollouts: [RolloutDocument]?
    /// The fleet, with `cluster:` set (absent otherwise).
    public var fleet: FleetStatusDocument?

    package init(generation: UInt64, configFile: String, process: Process?, lastUpgrade: LastUpgrade?, ready: Bool,
                 workers: Int, lastReload: LastReload?, reloads: Reloads, routes: [Route], pools: [Pool],
                 listeners: [Listener], rollouts: [RolloutDocument]?) {
        self.generation = generation
        self.configFile = configFile
        self.process = process
        self.lastUpgrade = lastUpgrade
        self.ready = ready
        self.workers = workers
        self.lastReload = lastReload
        self.reloads = reloads
        self.routes = routes
        self.pools = pools
        self.listeners = listeners
        self.rollouts = rollouts
    }

    private enum CodingKeys: String, CodingKey {
        case generation, configFile, process, lastUpgrade, ready, workers, lastReload, reloads, routes, pools, listeners, rollouts, fleet
    }

    /// Written by hand only so that `last_reload` is an explicit null rather than a missing key.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(generation, forKey: .generation)
        try c.encode(configFile, forKey: .configFile)
        try c.encodeIfPresent(process, forKey: .process)
        if let lastUpgrade { try c.encode(lastUpgrade, forKey: .lastUpgrade) } else { try c.encodeNil(forKey: .lastUpgrade) }
        try c.encode(ready, forKey: .ready)
        try c.encode(workers, forKey: .workers)
        if let lastReload { try c.encode(lastReload, forKey: .lastReload) } else { try c.encodeNil(forKey: .lastReload) }
        try c.encode(reloads, forKey: .reloads)
        try c.encode(routes, forKey: .routes)
        try c.encode(pools, forKey: .pools)
        try c.encode(listeners, forKey: .listeners)
        try c.encode(rollouts ?? [], forKey: .rollouts)
        try c.encodeIfPresent(fleet, forKey: .fleet)
    }
}

public enum AdminJSON {
    /// Encodes with snake_case keys, sorted so answers are stable. The documents hold only
    /// strings and numbers, so encoding cannot fail; `{}` is the (unreachable) fallback.
    public static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return Array("{}".utf8) }
        return Array(data)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(bytes))
    }
}

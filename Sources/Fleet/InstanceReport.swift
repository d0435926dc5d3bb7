import Foundation

/// What one instance says about itself at `PREFIX/instances/<instance>`, under its lease (it
/// disappears a few seconds after the instance dies, at once when it stops cleanly).
public struct InstanceReport: Codable, Sendable, Equatable {
    public struct PoolHealth: Codable, Sendable, Equatable {
        public var healthy: Int
        public var total: Int
        public init(healthy: Int, total: Int) { self.healthy = healthy; self.total = total }
    }

    public var instance: String
    /// The fleet generation in force on this instance (0: none yet, the file alone).
    public var generation: Int64
    /// False when the last generation it was given was refused (then `error` says why).
    public var ok: Bool
    public var error: String?
    /// The generation refused, when `ok` is false.
    public var refusedGeneration: Int64?
    /// The binary serving.
    public var version: String
    public var pid: Int32
    /// `ready`, or `stopping` once shutdown has begun.
    public var health: String
    /// Per pool: backends taking requests, of those configured.
    public var pools: [String: PoolHealth]
    /// Requests answered since the process started.
    public var requests: Int
    /// The local config generation (reloads applied, fleet ones included).
    public var configGeneration: UInt64
    /// The admin API's address, when it has one.
    public var admin: String?
    /// ISO 8601, UTC.
    public var updatedAt: String

    public init(instance: String, generation: Int64, ok: Bool, error: String?, refusedGeneration: Int64?, version: String,
                pid: Int32, health: String, pools: [String: PoolHealth], requests: Int, configGeneration: UInt64,
                admin: String?, updatedAt: String = Date().formatted(.iso8601)) {
        self.instance = instance
        self.generation = generation
        self.ok = ok
        self.error = error
        self.refusedGeneration = refusedGeneration
        self.version = version
        self.pid = pid
        self.health = health
        self.pools = pools
        self.requests = requests
        self.configGeneration = configGeneration
        self.admin = admin
        self.updatedAt = updatedAt
    }

    private enum CodingKeys: String, CodingKey {
        case instance, generation, ok, error, version, pid, health, pools, requests, admin
        case refusedGeneration = "refused_generation"
        case configGeneration = "config_generation"
        case updatedAt = "updated_at"
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }

    public static func decode(_ bytes: [UInt8]) -> InstanceReport? {
        try? JSONDecoder().decode(InstanceReport.self, from: Data(bytes))
    }
}

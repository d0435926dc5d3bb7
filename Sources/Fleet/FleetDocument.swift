import Config
import Foundation

/// The desired state of a fleet at one generation: what a switch changes, and nothing else.
/// Stored as JSON at `PREFIX/desired/<generation>` and pointed to by `PREFIX/active`; each
/// instance lays it over its own file's config (`FleetOverlay`). Listeners, pools, TLS, health
/// checks and the rest stay in each instance's file.
///
/// ```json
/// {"format": 1, "generation": 7, "previous": 6,
///  "routes": {"app": {"pools": {"blue": 0, "green": 100}, "ramp": "30s"}},
///  "backends": {"blue": {"10.0.1.10:3000": "drain"}},
///  "written_by": "cutover switch app green (ops-1, pid 4242)", "written_at": "2026-…Z", "id": "…"}
/// ```
///
/// A route named has its whole split given (its pools not named get 0); routes not named keep
/// their file's split. A backend named has its admin state given; the others keep their file's.
public struct FleetDocument: Codable, Sendable, Equatable {
    /// The document format this binary writes and reads.
    public static let currentFormat = 1

    public struct Route: Codable, Sendable, Equatable {
        /// Pool → weight.
        public var pools: [String: Int]
        /// A duration ("30s"); nil: the file's `ramp`.
        public var ramp: String?

        public init(pools: [String: Int], ramp: String? = nil) {
            self.pools = pools
            self.ramp = ramp
        }
    }

    public var format: Int
    public var generation: Int64
    /// The generation this one was built from (nil for the first).
    public var previous: Int64?
    public var routes: [String: Route]
    /// Pool → backend address → `active` | `drain`.
    public var backends: [String: [String: String]]
    /// Who wrote it and why ("cutover switch app green (host, pid N)").
    public var writtenBy: String
    /// ISO 8601, UTC.
    public var writtenAt: String
    /// Unique per write: lets a writer whose answer was lost recognise its own document.
    public var id: String

    public init(generation: Int64, previous: Int64?, routes: [String: Route] = [:], backends: [String: [String: String]] = [:],
                writtenBy: String, writtenAt: String = Date().formatted(.iso8601), id: String = UUID().uuidString) {
        self.format = FleetDocument.currentFormat
        self.generation = generation
        self.previous = previous
        self.routes = routes
        self.backends = backends
        self.writtenBy = writtenBy
        self.writtenAt = writtenAt
        self.id = id
    }

    private enum CodingKeys: String, CodingKey {
        case format, generation, previous, routes, backends, id
        case writtenBy = "written_by"
        case writtenAt = "written_at"
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }

    /// Decodes a stored document; a reason when it is not one this binary can read.
    public static func decode(_ bytes: [UInt8]) -> Result<FleetDocument, FleetRefusal> {
        struct Probe: Decodable { var format: Int? }
        guard let probe = try? JSONDecoder().decode(Probe.self, from: Data(bytes)) else {
            return .failure(FleetRefusal("the document is not JSON"))
        }
        guard probe.format == currentFormat else {
            return .failure(FleetRefusal("document format \(probe.format.map(String.init) ?? "missing") is not one this binary reads (\(currentFormat)); upgrade it"))
        }
        do {
            return .success(try JSONDecoder().decode(FleetDocument.self, from: Data(bytes)))
        } catch {
            return .failure(FleetRefusal("the document does not have the expected fields: \(error)"))
        }
    }

    /// A copy for the next generation, written by `writer`.
    public func next(writtenBy writer: String) -> FleetDocument {
        FleetDocument(generation: generation + 1, previous: generation, routes: routes, backends: backends, writtenBy: writer)
    }
}

/// Why an instance refused a document.
public struct FleetRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Laying a `FleetDocument` over a config read from the local file.
public enum FleetOverlay {
    /// Checks every entry of `document` against `config` (the local file's): a route, pool or
    /// backend this instance does not have, a pool not in the route, a weight out of range, a
    /// split adding up to 0, a bad ramp or admin state. Empty: it applies whole.
    public static func problems(_ document: FleetDocument, against config: CutoverConfig) -> [String] {
        var problems: [String] = []
        for (name, route) in document.routes.sorted(by: { $0.key < $1.key }) {
            guard let local = config.route(named: name) else {
                problems.append("route '\(name)' is not in this instance's config (routes: \(config.routes.map(\.name).joined(separator: ", ")))")
                continue
            }
            for (pool, weight) in route.pools.sorted(by: { $0.key < $1.key }) {
                if !local.pools.contains(where: { $0.name == pool }) {
                    problems.append("route '\(name)': pool '\(pool)' is not one of its pools here (\(local.pools.map(\.name).joined(separator: ", ")))")
                }
                if !(0...1_000_000).contains(weight) {
                    problems.append("route '\(name)': weight \(weight) of pool '\(pool)' is out of range (0 to 1000000)")
                }
            }
            if !route.pools.values.contains(where: { $0 > 0 }) {
                problems.append("route '\(name)': the weights add up to 0")
            }
            if let ramp = route.ramp, Config.Duration(parsing: ramp) == nil {
                problems.append("route '\(name)': ramp '\(ramp)' is not a duration")
            }
        }
        for (poolName, states) in document.backends.sorted(by: { $0.key < $1.key }) {
            guard let pool = config.pool(named: poolName) else {
                problems.append("pool '\(poolName)' is not in this instance's config")
                continue
            }
            for (address, state) in states.sorted(by: { $0.key < $1.key }) {
                if !pool.backends.contains(where: { $0.address.description == address || HostPort(parsing: address) == $0.address }) {
                    problems.append("pool '\(poolName)': backend \(address) is not in this instance's config")
                }
                if BackendAdminState(rawValue: state) == nil {
                    problems.append("pool '\(poolName)': backend \(address): state '\(state)' is neither active nor drain")
                }
            }
        }
        return problems
    }

    /// `document` less the entries that do not fit `config` (see `problems`), and those problems:
    /// what a command builds the next generation on, so a refused entry is not carried forward.
    public static func fitting(_ document: FleetDocument, to config: CutoverConfig) -> (FleetDocument, [String]) {
        let problems = problems(document, against: config)
        guard !problems.isEmpty else { return (document, []) }
        var result = document
        for (name, route) in document.routes {
            var alone = document
            alone.routes = [name: route]
            alone.backends = [:]
            if !FleetOverlay.problems(alone, against: config).isEmpty { result.routes[name] = nil }
        }
        for (pool, states) in document.backends {
            for (address, state) in states {
                var alone = document
                alone.routes = [:]
                alone.backends = [pool: [address: state]]
                if !FleetOverlay.problems(alone, against: config).isEmpty { result.backends[pool]?[address] = nil }
            }
            if result.backends[pool]?.isEmpty == true { result.backends[pool] = nil }
        }
        return (result, problems)
    }

    /// `config` with the document's splits, ramps and admin states in place of the file's.
    /// Entries that do not apply (see `problems`) are left out.
    public static func apply(_ document: FleetDocument, to config: CutoverConfig) -> CutoverConfig {
        var result = config
        for (r, route) in result.routes.enumerated() {
            guard let desired = document.routes[route.name],
                  desired.pools.keys.allSatisfy({ name in route.pools.contains { $0.name == name } }),
                  desired.pools.values.contains(where: { $0 > 0 }),
                  desired.pools.values.allSatisfy({ (0...1_000_000).contains($0) }) else { continue }
            result.routes[r].pools = route.pools.map { ($0.name, desired.pools[$0.name] ?? 0) }
            if let ramp = desired.ramp.flatMap(Config.Duration.init(parsing:)) { result.routes[r].ramp = ramp }
        }
        for (p, pool) in result.pools.enumerated() {
            guard let states = document.backends[pool.name] else { continue }
            for (b, backend) in pool.backends.enumerated() {
                let state = states[backend.address.description]
                    ?? states.first(where: { HostPort(parsing: $0.key) == backend.address })?.value
                if let state, let admin = BackendAdminState(rawValue: state) { result.pools[p].backends[b].state = admin }
            }
        }
        return result
    }
}

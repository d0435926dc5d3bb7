import Balancer
import Config
import DataPlane
import EventLoop
import Glibc
import HealthCheck

/// Turns a validated config into the data plane's immutable routing snapshot. Names are resolved
/// here, on the control plane, because resolution blocks.
enum SnapshotBuilder {
    /// `splits` overrides the configured split of the routes it names (a ramp in progress).
    /// `book` gives every backend its stable id and its effective weight at `now`.
    /// `tls` gives pools with `tls:` their client context (and reads their CA files).
    static func build(_ config: CutoverConfig, generation: UInt64, workers: Int,
                      splits: [String: [Int]] = [:], book: inout BackendBook, tls: inout TLSBook,
                      now: UInt64) throws(ConfigError) -> RoutingTable {
        var poolIndex: [String: Int] = [:]
        var pools: [RoutingTable.Pool] = []
        var upstreamTLS: [String: UpstreamTLS] = [:]
        for pool in config.pools {
            let poolTLS = try tls.upstream(for: pool)
            upstreamTLS[pool.name] = poolTLS
            var backends: [RoutingTable.Backend] = []
            for backend in pool.backends {
                guard let address = SocketAddress.resolve(host: backend.address.host, port: backend.address.port) else {
                    throw ConfigError(backend.location, "cannot resolve backend address '\(backend.address)'")
                }
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                var entry = RoutingTable.Backend(
                    id: book.id(for: identity), address: address, label: backend.address.description, weight: backend.weight,
                    effectiveWeight: book.effectiveWeight(identity, backend: backend, pool: pool, now: now))
                entry.serverName = pool.tls?.sni ?? backend.address.host
                entry.drained = backend.state == .drain
                backends.append(entry)
            }
            poolIndex[pool.name] = pools.count
            let balance: BalancerKind = switch pool.balance {
            case .roundRobin: .roundRobin
            case .leastRequest: .leastRequest
            case .random: .random
            }
            var entry = RoutingTable.Pool(name: pool.name, balance: balance, backends: backends,
                                          metricsID: book.labels.poolID(pool.name))
            entry.ejectAfterFailures = pool.passive?.consecutiveFailures
            entry.deregistrationDelay = UInt64(max(0, pool.deregistrationDelay.nanoseconds))
            entry.tls = poolTLS
            pools.append(entry)
        }
        var routes: [RoutingTable.Route] = []
        for route in config.routes {
            var split: [(index: Int, weight: Int)] = []
            let weights = splits[route.name].flatMap { $0.count == route.pools.count ? $0 : nil }
            for (slot, entry) in route.pools.enumerated() {
                guard let index = poolIndex[entry.name] else {
                    throw ConfigError(route.location, "route '\(route.name)' names unknown pool '\(entry.name)'")
                }
                split.append((index, weights?[slot] ?? entry.weight))
            }
            let poolNames = route.pools.map(\.name)
            let sticky = route.sticky.map { RoutingTable.StickyRule(cookieName: $0.cookie, poolNames: poolNames) }
            let override = route.override.map { rule in
                RoutingTable.OverrideRule(
                    headerName: rule.header,
                    allowFrom: rule.allowFromBlocks.map { AddressBlock(bytes: $0.address, prefixLength: $0.prefixLength) })
            }
            routes.append(RoutingTable.Route(name: route.name, pools: split, sticky: sticky, override: override,
                                             hashOn: RuleBuilder.cohortKey(route.hashOn),
                                             requestEdits: RuleBuilder.edits(route.requestHeaders),
                                             responseEdits: RuleBuilder.edits(route.responseHeaders),
                                             metricsID: book.labels.routeID(route.name)))
        }
        tls.finishBuild(pools: upstreamTLS)
        return RoutingTable(generation: generation, routes: routes, pools: pools, settings: settings(config, workers: workers))
    }

    static func settings(_ config: CutoverConfig, workers: Int) -> ProxySettings {
        var s = ProxySettings()
        s.connectTimeout = nanoseconds(config.timeouts.connect)
        s.clientHeaderTimeout = nanoseconds(config.timeouts.clientHeader)
        s.upstreamResponseTimeout = nanoseconds(config.timeouts.upstreamResponse)
        s.idleTimeout = nanoseconds(config.timeouts.idle)
        // max_connections is for the whole process; each worker enforces its share.
        s.maxConnections = max(1, (config.limits.maxConnections + workers - 1) / workers)
        // Each client connection may need an upstream one: a share above half the descriptors
        // the process may open (less a reserve for listeners, health checks, logs) would let
        // clients take the descriptors their own upstream connections need (as HAProxy derives
        // maxconn from ulimit -n).
        s.maxConnections = min(s.maxConnections, max(1, connectionsDescriptorsAllow() / max(1, workers)))
        s.maxHeaderBytes = config.limits.maxHeaderBytes
        s.http2MaxConcurrentStreams = config.limits.http2MaxConcurrentStreams
        s.http2StreamWindow = config.limits.http2StreamWindow
        s.http2MaxHeaderList = config.limits.http2MaxHeaderListBytes
        return s
    }

    private static func nanoseconds(_ d: Config.Duration) -> UInt64 { UInt64(max(0, d.nanoseconds)) }

    /// Client connections the process's descriptors allow: one more for each one's upstream
    /// connection, and 64 kept for listeners, health checks and logs.
    static func connectionsDescriptorsAllow() -> Int { (descriptorLimit() - 64) / 2 }

    /// RLIMIT_NOFILE's soft limit.
    static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1 << 20 }
        return Int(clamping: limit.rlim_cur)
    }
}

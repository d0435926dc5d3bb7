import Config
import EventLoop
import TLS

/// A backend as the health checker knows it across reloads: its pool and its address as written
/// in the config (`127.0.0.1:9001`, `[::1]:8080`, `app.internal:80`). Health state is keyed by
/// this, not by a resolved address or an index, so a reload that keeps the backend keeps its state.
public struct BackendIdentity: Hashable, Sendable, CustomStringConvertible {
    public var pool: String
    public var address: String

    public init(pool: String, address: String) {
        self.pool = pool
        self.address = address
    }

    public var description: String { "\(pool)/\(address)" }
}

/// One backend to probe: who it is, where it is (already resolved: the checker never blocks on
/// name resolution), and how to check it.
public struct HealthTarget: Sendable, Equatable {
    public var identity: BackendIdentity
    public var address: SocketAddress
    public var check: HealthCheckConfig
    /// A pool with `tls:`: `http` checks speak TLS, as its requests do.
    public var tls: HealthTLS?

    public init(identity: BackendIdentity, address: SocketAddress, check: HealthCheckConfig, tls: HealthTLS? = nil) {
        self.identity = identity
        self.address = address
        self.check = check
        self.tls = tls
    }

    /// Where probes connect: `address`, or the same host on `check.port` when one is set.
    var probeAddress: SocketAddress {
        guard let port = check.port, port != address.port,
              let moved = SocketAddress(ip: address.ipString, port: port) else { return address }
        return moved
    }

    /// Every backend of every pool that has a `health_check`, in config order. Resolves names,
    /// which blocks: call it on the control queue, as the snapshot builder does. `tls` gives the
    /// client context of each pool with `tls:` (by pool name).
    public static func targets(for config: CutoverConfig,
                               tls: [String: TLSClientContext] = [:]) throws(ConfigError) -> [HealthTarget] {
        var targets: [HealthTarget] = []
        for pool in config.pools {
            guard let check = pool.healthCheck else { continue }
            for backend in pool.backends {
                guard let address = SocketAddress.resolve(host: backend.address.host, port: backend.address.port) else {
                    throw ConfigError(backend.location, "cannot resolve backend address '\(backend.address)'")
                }
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                targets.append(HealthTarget(identity: identity, address: address, check: check,
                                            tls: healthTLS(pool, backend, tls[pool.name])))
            }
        }
        return targets
    }

    package static func healthTLS(_ pool: PoolConfig, _ backend: BackendConfig, _ context: TLSClientContext?) -> HealthTLS? {
        guard let context, let settings = pool.tls else { return nil }
        return HealthTLS(context: context, serverName: settings.sni ?? backend.address.host)
    }
}

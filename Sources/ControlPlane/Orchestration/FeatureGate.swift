import Config

/// Config sections the schema accepts but this build does not act on yet, or combinations it
/// cannot serve. Silently ignoring them would mislead an operator, so: what would be unsafe to
/// ignore (plaintext where the operator asked for TLS) is an error; the rest is a warning at
/// `check` and start-up.
public enum FeatureGate {
    public static func review(_ config: CutoverConfig) -> (errors: [ConfigError], warnings: [String]) {
        var errors: [ConfigError] = []
        let warnings: [String] = []  // none now: every section is acted on
        for listener in config.listeners where listener.tls != nil && listener.proto == .tcp {
            errors.append(ConfigError(listener.location, "listener '\(listener.name)': TLS termination is for http listeners; a tcp listener relays bytes as they are (put TLS on the backends, or use protocol: http)"))
        }
        let tcpRoutes = Set(config.listeners.filter { $0.proto == .tcp }.map(\.route))
        for pool in config.pools {
            if pool.tls != nil {
                let viaTCP = config.routes.filter { tcpRoutes.contains($0.name) && $0.pools.contains { $0.name == pool.name } }
                if let route = viaTCP.first {
                    errors.append(ConfigError(pool.location, "pool '\(pool.name)': tls towards backends is for http listeners, and route '\(route.name)' serves a tcp listener"))
                }
            }
        }
        return (errors, warnings)
    }
}

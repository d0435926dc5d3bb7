import Config

/// Config sections the schema accepts but this build does not act on yet. Silently ignoring them
/// would mislead an operator, so: what would be unsafe to ignore (TLS: plaintext where the
/// operator asked for encryption) is an error; the rest is a warning at `check` and start-up.
public enum FeatureGate {
    public static func review(_ config: CutoverConfig) -> (errors: [ConfigError], warnings: [String]) {
        var errors: [ConfigError] = []
        let warnings: [String] = []  // none now: every other section is acted on
        for listener in config.listeners where listener.tls != nil {
            errors.append(ConfigError(listener.location, "listener '\(listener.name)': TLS termination is not available in this build yet; refusing to serve plaintext where TLS was asked for"))
        }
        for pool in config.pools {
            if pool.tls != nil {
                errors.append(ConfigError(pool.location, "pool '\(pool.name)': TLS to backends is not available in this build yet"))
            }
        }
        return (errors, warnings)
    }
}

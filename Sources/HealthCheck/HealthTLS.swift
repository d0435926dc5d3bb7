import TLS

/// What a health check of a pool with `tls:` speaks: its client context and the name to send
/// and verify (the pool's `sni`, else the backend's host), as the data plane's connections do.
public struct HealthTLS: Sendable, Equatable {
    public let context: TLSClientContext
    public let serverName: String

    public init(context: TLSClientContext, serverName: String) {
        self.context = context
        self.serverName = serverName
    }

    public static func == (a: HealthTLS, b: HealthTLS) -> Bool {
        a.context === b.context && a.serverName == b.serverName
    }
}

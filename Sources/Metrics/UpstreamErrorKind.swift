/// Why an exchange with a backend failed, as `cutover_upstream_errors_total{kind}` names it.
public enum UpstreamErrorKind: Int, Sendable, CaseIterable {
    /// The connection could not be made (refused, unreachable, connect timeout).
    case connect
    /// No answer within `timeouts.upstream_response`.
    case timeout
    /// The connection closed or was reset before the answer was complete.
    case reset
    /// The answer was not valid HTTP (a malformed head or chunked body).
    case `protocol`

    public var label: String {
        switch self {
        case .connect: "connect"
        case .timeout: "timeout"
        case .reset: "reset"
        case .protocol: "protocol"
        }
    }
}

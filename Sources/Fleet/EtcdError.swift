/// Why an etcd call did not give an answer.
public enum EtcdError: Error, Sendable, CustomStringConvertible {
    /// No endpoint could be reached (each one's reason, in the order tried).
    case unreachable([String])
    /// An endpoint answered, but not with what was asked (an HTTP error, a gRPC error, garbage).
    case failed(endpoint: String, message: String)

    public var description: String {
        switch self {
        case .unreachable(let reasons): "etcd unreachable (\(reasons.joined(separator: "; ")))"
        case .failed(let endpoint, let message): "etcd at \(endpoint): \(message)"
        }
    }

    /// True when nothing answered at all (as opposed to an answer saying no).
    public var isUnreachable: Bool {
        if case .unreachable = self { return true }
        return false
    }
}

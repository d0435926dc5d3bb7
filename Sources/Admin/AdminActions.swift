/// What the admin API's commands ask of the control plane, and why the control plane refused:
/// the vocabulary `AdminAPI` and the orchestration share (the orchestration runs them).

/// What `POST /backends/POOL/OPERATION?address=…` asks.
public enum BackendOperation: Sendable, Equatable {
    case add(weight: Int?)
    case drain
    case enable
    case remove
    case weight(Int)

    public var name: String {
        switch self {
        case .add: "add"
        case .drain: "drain"
        case .enable: "enable"
        case .remove: "remove"
        case .weight: "weight"
        }
    }
}

/// Why a backend operation was refused, with the admin API's status for it.
public struct BackendOperationError: Error, Sendable, CustomStringConvertible {
    /// 404 no such pool, 409 the backend is (not) there already, 422 the edit or its reload was
    /// refused, 503 shutting down.
    public var status: Int
    public var description: String

    package init(status: Int, description: String) {
        self.status = status
        self.description = description
    }
}

/// Why an upgrade did not happen; the old process serves on as before.
public struct UpgradeFailure: Error, Sendable, CustomStringConvertible {
    /// 409 another upgrade runs (or this process already handed over), 422 the new process failed,
    /// 503 shutting down.
    public var status: Int
    public var description: String

    package init(status: Int, description: String) {
        self.status = status
        self.description = description
    }
}

/// What a rollout command asks.
public enum RolloutAction: Sendable, Equatable {
    case start(canary: String, baseline: String?)
    case pause
    case resume
    case promote(now: Bool)
    case abort
}

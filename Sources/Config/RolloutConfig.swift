/// A route's automated canary policy, `routes.NAME.rollout` (see the README, "Automated canary").
public struct RolloutConfig: Sendable, Hashable {
    /// The canary's share of new requests at each step, in percent, strictly increasing.
    public var steps: [Int]
    public var stepDuration: Duration
    public var minRequests: Int
    public var interval: Duration
    public var warmup: Duration
    public var errorRate: ErrorRateCheckConfig?
    public var latency: LatencyCheckConfig?
    /// A fraction in (0.5, 1): 0.99 for `99%`.
    public var confidence: Double
    public var onFailure: RolloutFailureAction
    /// Step shares (values of `steps`) that wait for `cutover rollout promote` before they begin.
    public var gates: [Int]
    public var notify: NotifyTarget?

    public static let defaultSteps = [1, 5, 25, 50, 100]

    public init(steps: [Int] = RolloutConfig.defaultSteps, stepDuration: Duration = .seconds(300), minRequests: Int = 500,
                interval: Duration = .seconds(10), warmup: Duration = .seconds(30),
                errorRate: ErrorRateCheckConfig? = ErrorRateCheckConfig(),
                latency: LatencyCheckConfig? = LatencyCheckConfig(),
                confidence: Double = 0.99, onFailure: RolloutFailureAction = .rollback, gates: [Int] = [],
                notify: NotifyTarget? = nil) {
        self.steps = steps
        self.stepDuration = stepDuration
        self.minRequests = minRequests
        self.interval = interval
        self.warmup = warmup
        self.errorRate = errorRate
        self.latency = latency
        self.confidence = confidence
        self.onFailure = onFailure
        self.gates = gates
        self.notify = notify
    }
}

/// `checks.error_rate`: fractions (`0.5%` is 0.005). Defaults: ratio 2, increase 0.5 %, max 5 %.
public struct ErrorRateCheckConfig: Sendable, Hashable {
    public var maxRatio: Double? = 2
    public var maxIncrease: Double? = 0.005
    public var max: Double? = 0.05
    public init(maxRatio: Double? = 2, maxIncrease: Double? = 0.005, max: Double? = 0.05) {
        self.maxRatio = maxRatio
        self.maxIncrease = maxIncrease
        self.max = max
    }
}

/// `checks.latency`. Defaults: p99, ratio 1.5, no absolute limit.
public struct LatencyCheckConfig: Sendable, Hashable {
    public var quantile: Double = 0.99
    public var maxRatio: Double? = 1.5
    public var max: Duration? = nil
    public init(quantile: Double = 0.99, maxRatio: Double? = 1.5, max: Duration? = nil) {
        self.quantile = quantile
        self.maxRatio = maxRatio
        self.max = max
    }
}

public enum RolloutFailureAction: String, Sendable, Hashable, CaseIterable {
    case rollback
    case pause
}

/// `notify: http://HOST:PORT/PATH`: where transitions are POSTed (plain HTTP; a local relay or
/// a chat webhook bridge is the expected receiver).
public struct NotifyTarget: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public var path: String
    public init(host: String, port: UInt16, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }
    public var description: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "http://\(host):\(port)\(path)"
    }

    /// `http://HOST[:PORT][/PATH]`, or nil with the reason.
    static func parse(_ text: String) -> Result<NotifyTarget, ValueError> {
        guard text.hasPrefix("http://") else {
            return .failure(ValueError("must be an http:// URL (https is not supported: point it at a local relay)"))
        }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        guard !authority.isEmpty else { return .failure(ValueError("has no host")) }
        guard path.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "#" }) else {
            return .failure(ValueError("has a path with spaces, a fragment or non-ASCII characters"))
        }
        let hostPort: HostPort
        if authority.contains(where: { $0 == "]" }) ? authority.hasSuffix("]") : !authority.contains(":") {
            guard let parsed = try? HostPort.parse(authority + ":80") else { return .failure(ValueError("has an invalid host")) }
            hostPort = parsed
        } else {
            do { hostPort = try HostPort.parse(String(authority)) } catch { return .failure(error) }
        }
        return .success(NotifyTarget(host: hostPort.host, port: hostPort.port, path: path.isEmpty ? "/" : String(path)))
    }
}

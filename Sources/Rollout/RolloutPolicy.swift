/// A route's `rollout:` policy in the units the judge and the state machine use (nanoseconds,
/// fractions). The control plane builds it from the validated config; nothing here reads files.
public struct RolloutPolicy: Sendable, Equatable {
    /// The canary's share of new requests at each step, in percent (1...100), increasing.
    public var steps: [Int]
    /// Least time a step runs with a passing verdict before the next one.
    public var stepDuration: UInt64
    /// Least canary requests (attempts) in a step before it can pass.
    public var minRequests: Int
    /// How often the step is judged.
    public var interval: UInt64
    /// No verdict until the canary is ready and this long has passed since the start.
    public var warmup: UInt64
    public var errorRate: ErrorRateCheck?
    public var latency: LatencyCheck?
    /// The probability that a canary as good as its thresholds is never failed over the whole
    /// rollout (0.99 → at most 1 % false rollbacks).
    public var confidence: Double
    public var onFailure: FailureAction
    /// Step shares (values of `steps`) that wait for `promote` before they begin.
    public var gates: [Int]

    public init(steps: [Int], stepDuration: UInt64, minRequests: Int, interval: UInt64, warmup: UInt64,
                errorRate: ErrorRateCheck?, latency: LatencyCheck?, confidence: Double,
                onFailure: FailureAction, gates: [Int]) {
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
    }

    public enum FailureAction: String, Sendable, Equatable {
        case rollback
        case pause
    }

    /// The canary's error rate (5xx answers of its backends plus failed exchanges, per attempt)
    /// against the baseline's. The canary fails the relative part only when it is worse than
    /// BOTH `maxRatio` × baseline and baseline + `maxIncrease` (so a baseline at 0 % does not
    /// make any single error a failure, and a high baseline does not hide a large increase);
    /// it fails the absolute guard when its rate is above `max` whatever the baseline does.
    public struct ErrorRateCheck: Sendable, Equatable {
        public var maxRatio: Double?
        /// A fraction (0.005 for "0.5%").
        public var maxIncrease: Double?
        /// A fraction.
        public var max: Double?
        public init(maxRatio: Double?, maxIncrease: Double?, max: Double?) {
            self.maxRatio = maxRatio
            self.maxIncrease = maxIncrease
            self.max = max
        }
    }

    /// The canary's latency quantile against the baseline's (`maxRatio`) and an absolute guard.
    public struct LatencyCheck: Sendable, Equatable {
        /// 0.5...0.999 (0.99 for p99).
        public var quantile: Double
        public var maxRatio: Double?
        /// Nanoseconds.
        public var max: UInt64?
        public init(quantile: Double, maxRatio: Double?, max: UInt64?) {
            self.quantile = quantile
            self.maxRatio = maxRatio
            self.max = max
        }
    }
}

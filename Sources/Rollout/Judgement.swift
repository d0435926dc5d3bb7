/// The judge's answer for one look at a step.
public enum Verdict: String, Sendable, Equatable, Codable {
    /// Enough canary requests, and no check found the canary worse than allowed.
    case pass
    /// A check found the canary worse than allowed at the policy's confidence.
    case fail
    /// Not enough data to say (too few canary requests, or no baseline to compare with):
    /// never a failure; the step's clock stops.
    case insufficient
}

/// One check's outcome (`error_rate`, `latency`), with the numbers behind it for people.
public struct CheckResult: Sendable, Equatable, Codable {
    /// `error_rate` or `latency`.
    public var check: String
    public var verdict: Verdict
    /// The canary's observed value: an error fraction, or the latency quantile in seconds;
    /// nil when it has no data.
    public var canary: Double?
    public var baseline: Double?
    /// The effective limit the canary was held to (the larger of the relative limits, or the
    /// absolute guard when it is lower); nil when there is none yet.
    public var threshold: Double?
    /// A sentence a person can read: "error rate 4.8 % vs baseline 0.2 % over 812 / 15,230
    /// requests", "p99 412 ms vs baseline 38 ms (limit 49 ms)", "27 of 500 canary requests".
    public var reason: String

    public init(check: String, verdict: Verdict, canary: Double?, baseline: Double?, threshold: Double?, reason: String) {
        self.check = check
        self.verdict = verdict
        self.canary = canary
        self.baseline = baseline
        self.threshold = threshold
        self.reason = reason
    }
}

/// All checks of one look: the verdict is `fail` if any check fails, else `insufficient` if any
/// is insufficient (or the canary has fewer than `min_requests`), else `pass`.
public struct Judgement: Sendable, Equatable, Codable {
    public var verdict: Verdict
    public var checks: [CheckResult]
    /// The sentence of the deciding check (or of the whole look when it passed).
    public var reason: String

    public init(verdict: Verdict, checks: [CheckResult], reason: String) {
        self.verdict = verdict
        self.checks = checks
        self.reason = reason
    }
}

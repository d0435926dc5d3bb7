import Rollout

/// One route's rollout as the admin API (`GET /rollouts`, `/status`), `cutover rollout status`
/// and the CLI's `--wait` see it. Snake_case on the wire like every admin document.
public struct RolloutDocument: Codable, Sendable {
    public struct Sample: Codable, Sendable, Equatable {
        /// Attempts since the step began (answers of the pool's backends plus failed exchanges).
        public var requests: UInt64
        /// 5xx answers plus failed exchanges.
        public var errors: UInt64

        package init(requests: UInt64, errors: UInt64) {
            self.requests = requests
            self.errors = errors
        }
    }

    /// One transition, newest last.
    public struct HistoryEntry: Codable, Sendable, Equatable {
        /// ISO 8601, UTC.
        public var at: String
        /// `started`, `step`, `waiting_gate`, `paused`, `resumed`, `promoted`, `rolled_back`, `aborted`.
        public var event: String
        public var state: String
        public var step: Int
        public var canaryWeight: Int
        public var reason: String

        package init(at: String, event: String, state: String, step: Int, canaryWeight: Int, reason: String) {
            self.at = at
            self.event = event
            self.state = state
            self.step = step
            self.canaryWeight = canaryWeight
            self.reason = reason
        }
    }

    public var route: String
    /// Empty while `idle` (never started since the proxy started).
    public var canary: String
    public var baseline: String
    /// `idle`, `warmup`, `progressing`, `waiting_gate`, `paused`, `promoted`, `failed`, `aborted`.
    public var state: String
    /// 1-based index into `steps` of the step in force; 0 before the first.
    public var step: Int
    public var steps: [Int]
    public var gates: [Int]
    public var onFailure: String
    /// True while `paused` because a check failed (`on_failure: pause`), not by an operator.
    public var pausedOnFailure: Bool
    /// The canary's share of new requests now, in percent.
    public var canaryWeight: Int
    /// Judged (passing) time at this step, and the least the step needs.
    public var stepSeconds: Double
    public var stepDurationSeconds: Double
    public var minRequests: Int
    public var looks: Int
    /// The last look's verdict: `pass`, `fail`, `insufficient`; absent before the first look.
    public var verdict: String?
    /// Why the rollout is where it is (the last transition, or what it waits for).
    public var reason: String
    public var checks: [CheckResult]
    public var canarySample: Sample
    public var baselineSample: Sample
    /// The last looks' verdicts with their reasons, newest last.
    public var verdicts: [String]
    public var history: [HistoryEntry]
    public var startedAt: String?
    public var updatedAt: String?
    /// In a fleet: the instance leading the rollout. Another instance shows the state the leader
    /// last wrote to etcd (no samples or verdicts: the leader has the summed counts).
    public var leader: String?

    package init(route: String, canary: String, baseline: String, state: String, step: Int, steps: [Int],
                 gates: [Int], onFailure: String, pausedOnFailure: Bool, canaryWeight: Int, stepSeconds: Double,
                 stepDurationSeconds: Double, minRequests: Int, looks: Int, verdict: String?, reason: String,
                 checks: [CheckResult], canarySample: Sample, baselineSample: Sample, verdicts: [String],
                 history: [HistoryEntry], startedAt: String?, updatedAt: String?) {
        self.route = route
        self.canary = canary
        self.baseline = baseline
        self.state = state
        self.step = step
        self.steps = steps
        self.gates = gates
        self.onFailure = onFailure
        self.pausedOnFailure = pausedOnFailure
        self.canaryWeight = canaryWeight
        self.stepSeconds = stepSeconds
        self.stepDurationSeconds = stepDurationSeconds
        self.minRequests = minRequests
        self.looks = looks
        self.verdict = verdict
        self.reason = reason
        self.checks = checks
        self.canarySample = canarySample
        self.baselineSample = baselineSample
        self.verdicts = verdicts
        self.history = history
        self.startedAt = startedAt
        self.updatedAt = updatedAt
    }
}

/// `GET /rollouts`.
public struct RolloutList: Codable, Sendable {
    public var rollouts: [RolloutDocument]
}

/// Why a rollout command was refused, with the admin API's status for it.
public struct RolloutCommandError: Error, Sendable, CustomStringConvertible {
    /// 404 no such route, 409 wrong state, 422 a request that cannot be right, 503 shutting down.
    public var status: Int
    public var description: String

    package init(status: Int, description: String) {
        self.status = status
        self.description = description
    }
}

/// A rollout command's answer: `{"ok":false,"error":"…"}` when refused.
public struct RolloutCommandAnswer: Codable, Sendable {
    public var ok: Bool
    public var error: String?
}

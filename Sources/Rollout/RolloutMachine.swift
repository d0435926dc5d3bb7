/// One route's automated canary as a state machine: steps, warm-up, holds, gates, pause and
/// resume, promotion, failure. Pure: `now` (monotonic nanoseconds), the pools' counters and the
/// judge come in as parameters; what changed comes back as `RolloutEvent`s, which the control
/// plane turns into a published split, a log line, a state-file write and a webhook. Runs only on
/// the control plane; the data plane never sees it, only the split it asks for.
///
/// The step's counters are readings of the workers' cumulative counters taken when the step began,
/// never a trailing window: a step is judged on everything it saw. Its clock runs only over looks
/// whose verdict is `pass`: an insufficient look (too few canary requests, or none since the last
/// look) holds the rollout where it is, so a quiet night neither fails nor advances it.
public struct RolloutMachine: Sendable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Canary at the first step's share; no verdict until it is ready and `warmup` has passed.
        case warmup
        case progressing
        /// The next step is gated: waiting for `promote`.
        case waitingGate = "waiting_gate"
        case paused
        case promoted
        /// Rolled back after a failing verdict.
        case failed
        case aborted

        public var isActive: Bool { ![.promoted, .failed, .aborted].contains(self) }
    }

    /// The counters of a rollout's two pools, read together.
    public struct Readings: Sendable, Equatable {
        public var canary: PoolSample
        public var baseline: PoolSample
        public init(canary: PoolSample, baseline: PoolSample) {
            self.canary = canary
            self.baseline = baseline
        }
    }

    public let route: String
    public let canary: String
    public let baseline: String
    public let policy: RolloutPolicy
    public private(set) var state: State
    /// Index in `policy.steps` of the step in force; -1 before the first (a gate on it).
    public private(set) var stepIndex: Int
    /// Judged (passing) time at this step.
    public private(set) var stepClock: UInt64 = 0
    /// Looks that saw new canary data over the whole rollout: the judge's spending index.
    public private(set) var looks: Int = 0
    public private(set) var lastJudgement: Judgement?
    /// The step's own counts (since it began), as of the last look.
    public private(set) var stepSample = Readings(canary: PoolSample(), baseline: PoolSample())
    /// Why the state is what it is, for people.
    public private(set) var reason: String
    /// True when `paused` was entered on a failing verdict (`on_failure: pause`).
    public private(set) var pausedOnFailure = false
    private var stateBeforePause: State?
    private var warmupFrom: UInt64
    private var stepStart: Readings?
    /// Readings when the first judged step began: the baseline's latency reference runs from
    /// there (its distribution does not depend on the canary's share, and a quantile's
    /// confidence bound needs about a thousand answers, which one short step may not have).
    private var rolloutStart: Readings?
    private var lastLook: UInt64?
    /// Judged time a restarted proxy carries into the step it resumes.
    private var carriedClock: UInt64 = 0

    /// A new rollout at `now`: the canary takes the first step's share (warm-up), or waits at a
    /// gate on the first step with no share.
    public init(route: String, canary: String, baseline: String, policy: RolloutPolicy, now: UInt64) {
        self.route = route
        self.canary = canary
        self.baseline = baseline
        self.policy = policy
        warmupFrom = now
        if let first = policy.steps.first, policy.gates.contains(first) {
            state = .waitingGate
            stepIndex = -1
            reason = "waiting for promote before step \(first) %"
        } else {
            state = .warmup
            stepIndex = 0
            reason = "started: canary \(canary) at \(policy.steps.first ?? 100) %, warming up"
        }
    }

    /// The canary's share of new requests, in percent, that the split must carry now.
    public var canaryShare: Int {
        switch state {
        case .promoted: return 100
        case .failed, .aborted: return 0
        default: return stepIndex >= 0 && stepIndex < policy.steps.count ? policy.steps[stepIndex] : 0
        }
    }

    /// The share of the step in force, or of the first step before it began.
    public var stepShare: Int { policy.steps[max(0, min(stepIndex, policy.steps.count - 1))] }

    /// One look, every `policy.interval`. `canaryReady`: every canary backend is healthy and past
    /// its slow start (the warm-up's condition).
    public mutating func tick(now: UInt64, canaryReady: Bool, readings: Readings,
                              judge: (PoolSample, PoolSample, Int) -> Judgement) -> [RolloutEvent] {
        defer { lastLook = now }
        switch state {
        case .warmup:
            guard canaryReady else {
                reason = "warming up: waiting for the canary's backends to be healthy and past slow start"
                return []
            }
            guard now &- warmupFrom >= policy.warmup else {
                reason = "warming up: \(Self.seconds(policy.warmup - (now &- warmupFrom))) left"
                return []
            }
            state = .progressing
            beginStep(readings)
            reason = "step \(stepIndex + 1) of \(policy.steps.count): canary at \(canaryShare) %"
            return [RolloutEvent(.step, reason)]
        case .progressing:
            return judgeStep(now: now, readings: readings, judge: judge)
        default:
            return []
        }
    }

    private mutating func judgeStep(now: UInt64, readings: Readings,
                                    judge: (PoolSample, PoolSample, Int) -> Judgement) -> [RolloutEvent] {
        guard let start = stepStart else {
            beginStep(readings)
            return []
        }
        let sample = Readings(canary: readings.canary.since(start.canary), baseline: readings.baseline.since(start.baseline))
        let fresh = sample.canary.requests > stepSample.canary.requests
        stepSample = sample
        let judgement: Judgement
        if fresh {
            looks += 1
            var baseline = sample.baseline
            baseline.latencyCounts = readings.baseline.since((rolloutStart ?? start).baseline).latencyCounts
            judgement = judge(sample.canary, baseline, looks)
        } else {
            let none = "no new canary requests since the last look: holding"
            judgement = Judgement(verdict: .insufficient, checks: lastJudgement?.checks ?? [], reason: none)
        }
        lastJudgement = judgement
        let where_ = "at step \(stepShare) %"
        switch judgement.verdict {
        case .fail:
            reason = "\(judgement.reason) \(where_)"
            switch policy.onFailure {
            case .rollback:
                state = .failed
                return [RolloutEvent(.rolledBack, reason)]
            case .pause:
                stateBeforePause = .progressing
                pausedOnFailure = true
                state = .paused
                return [RolloutEvent(.paused, reason)]
            }
        case .insufficient:
            reason = "holding \(where_): \(judgement.reason)"
            return []
        case .pass:
            if let last = lastLook { stepClock &+= now &- last }
            guard stepClock >= policy.stepDuration, sample.canary.requests >= UInt64(policy.minRequests) else {
                reason = "step \(stepIndex + 1) of \(policy.steps.count) (\(stepShare) %): passing, \(Self.seconds(policy.stepDuration &- min(stepClock, policy.stepDuration))) to go"
                return []
            }
            return advance(readings, why: "step \(stepShare) % passed (\(judgement.reason))")
        }
    }

    /// The step in force is done: the next one, a gate before it, or promotion.
    private mutating func advance(_ readings: Readings, why: String) -> [RolloutEvent] {
        let next = stepIndex + 1
        guard next < policy.steps.count, policy.steps[next] < 100 || policy.gates.contains(policy.steps[next]) else {
            return promote(why: "\(why); promoted: canary \(canary) at 100 %")
        }
        if policy.gates.contains(policy.steps[next]) {
            state = .waitingGate
            reason = "\(why); waiting for promote before step \(policy.steps[next]) %"
            return [RolloutEvent(.waitingGate, reason)]
        }
        stepIndex = next
        beginStep(readings)
        state = .progressing
        reason = "\(why); step \(stepIndex + 1) of \(policy.steps.count): canary at \(canaryShare) %"
        return [RolloutEvent(.step, reason)]
    }

    private mutating func promote(why: String) -> [RolloutEvent] {
        state = .promoted
        stepIndex = policy.steps.count - 1  // the last step: 100 %, or the end of the list
        reason = why
        return [RolloutEvent(.promoted, reason)]
    }

    private mutating func beginStep(_ readings: Readings) {
        stepStart = readings
        if rolloutStart == nil { rolloutStart = readings }
        stepSample = Readings(canary: PoolSample(), baseline: PoolSample())
        stepClock = carriedClock
        carriedClock = 0
        lastJudgement = nil
    }

    /// What the state file keeps: enough to resume at the same step after a restart. The step's
    /// counters are not kept (a new process counts from 0), its judged time is.
    public struct Persisted: Sendable, Codable, Equatable {
        public var route: String
        public var canary: String
        public var baseline: String
        public var state: State
        public var stepIndex: Int
        public var stepClock: UInt64
        public var looks: Int
        public var reason: String
        public var pausedOnFailure: Bool
        public var stateBeforePause: State?
    }

    public var persisted: Persisted {
        Persisted(route: route, canary: canary, baseline: baseline, state: state, stepIndex: stepIndex,
                  stepClock: stepClock, looks: looks, reason: reason, pausedOnFailure: pausedOnFailure,
                  stateBeforePause: stateBeforePause)
    }

    /// A rollout a previous process ran, resumed at `now` at the step it was in. A running step
    /// warms up again first (a restarted proxy's backends are `checking` until their health
    /// checks pass), then goes on with the judged time it had.
    public init(resuming saved: Persisted, policy: RolloutPolicy, now: UInt64) {
        route = saved.route
        canary = saved.canary
        baseline = saved.baseline
        self.policy = policy
        warmupFrom = now
        stepIndex = min(saved.stepIndex, policy.steps.count - 1)
        looks = saved.looks
        pausedOnFailure = saved.pausedOnFailure
        carriedClock = saved.stepClock
        stepClock = saved.stepClock
        switch saved.state {
        case .progressing, .warmup:
            state = .warmup
            reason = "resumed after a restart at step \(max(0, stepIndex) + 1) of \(policy.steps.count), warming up"
        case .paused:
            state = .paused
            stateBeforePause = saved.stateBeforePause == .waitingGate ? .waitingGate : .progressing
            reason = saved.reason
        default:
            state = saved.state
            reason = saved.reason
        }
    }

    /// Why a command was refused: the state it found.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// `promote`: opens the gate the rollout waits at; with `now`, promotes at once from any
    /// active state.
    public mutating func promote(now: UInt64, skipSteps: Bool, readings: Readings) throws(Refusal) -> [RolloutEvent] {
        guard state.isActive else { throw Refusal(description: "the rollout of \(canary) on route \(route) is \(state.rawValue), not running") }
        if skipSteps { return promote(why: "promoted by an operator (promote --now) at \(canaryShare) %") }
        guard state == .waitingGate else {
            throw Refusal(description: "the rollout of \(canary) on route \(route) is \(state.rawValue), not waiting at a gate (promote --now skips the remaining steps)")
        }
        let next = stepIndex + 1
        if next >= policy.steps.count || policy.steps[next] >= 100 {
            return promote(why: "gate opened by an operator; promoted: canary \(canary) at 100 %")
        }
        stepIndex = next
        lastLook = now
        if next == 0 {
            // The first step: warm up as a fresh start would.
            warmupFrom = now
            state = .warmup
            reason = "gate opened by an operator: canary at \(canaryShare) %, warming up"
            return [RolloutEvent(.step, reason)]
        }
        beginStep(readings)
        state = .progressing
        reason = "gate opened by an operator: step \(stepIndex + 1) of \(policy.steps.count), canary at \(canaryShare) %"
        return [RolloutEvent(.step, reason)]
    }

    public mutating func pause(now: UInt64) throws(Refusal) -> [RolloutEvent] {
        guard state.isActive, state != .paused else {
            throw Refusal(description: "the rollout of \(canary) on route \(route) is \(state.rawValue): nothing to pause")
        }
        stateBeforePause = state
        pausedOnFailure = false
        state = .paused
        reason = "paused by an operator at \(canaryShare) %"
        return [RolloutEvent(.paused, reason)]
    }

    /// Back to where `pause` left it. After a pause on failure the step starts over (its counters
    /// and clock), since judging the same failing counts again would fail again at once.
    public mutating func resume(now: UInt64, readings: Readings) throws(Refusal) -> [RolloutEvent] {
        guard state == .paused else {
            throw Refusal(description: "the rollout of \(canary) on route \(route) is \(state.rawValue), not paused")
        }
        state = stateBeforePause ?? .progressing
        if pausedOnFailure { beginStep(readings) }
        pausedOnFailure = false
        lastLook = now
        reason = "resumed by an operator at \(canaryShare) %"
        return [RolloutEvent(.resumed, reason)]
    }

    /// Back to the baseline at once (by an operator, or because a reload took the route over).
    public mutating func abort(reason why: String) throws(Refusal) -> [RolloutEvent] {
        guard state.isActive else {
            throw Refusal(description: "the rollout of \(canary) on route \(route) is \(state.rawValue): nothing to abort")
        }
        state = .aborted
        reason = why
        return [RolloutEvent(.aborted, reason)]
    }

    /// "2m 30s", "4.5s".
    static func seconds(_ nanoseconds: UInt64) -> String {
        let tenths = (nanoseconds + 50_000_000) / 100_000_000
        if tenths < 600 { return tenths % 10 == 0 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s" }
        let s = tenths / 10
        return s % 60 == 0 ? "\(s / 60)m" : "\(s / 60)m \(s % 60)s"
    }
}

/// A transition of a rollout, for the log line, the webhook and the history.
public struct RolloutEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case started, step
        case waitingGate = "waiting_gate"
        case paused, resumed, promoted
        case rolledBack = "rolled_back"
        case aborted
    }
    public var kind: Kind
    public var reason: String
    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }
}

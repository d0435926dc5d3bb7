import Admin
import Config
import Foundation
import Metrics
import Rollout

/// A route's rollout on the control plane: the pure state machine plus what people see of it
/// (wall-clock history, recent verdicts). Control queue only.
struct RolloutRun {
    var machine: RolloutMachine
    var startedAt: Date
    var updatedAt: Date
    var history: [RolloutDocument.HistoryEntry] = []
    var verdicts: [String] = []
    /// The judge of `machine.policy` (built once per run).
    let judge: CanaryJudge

    static let historyLimit = 50
    static let verdictLimit = 10

    init(machine: RolloutMachine, now: Date) {
        self.machine = machine
        startedAt = now
        updatedAt = now
        judge = CanaryJudge(policy: machine.policy, latencyBounds: RolloutRun.latencyBounds)
    }

    /// The judge reads the workers' fine latency buckets.
    static var latencyBounds: [UInt64] { LogLinearHistogram.bounds }

    mutating func record(_ event: RolloutEvent, at now: Date) {
        history.append(.init(at: ISO8601.string(now), event: event.kind.rawValue, state: machine.state.rawValue,
                             step: machine.stepIndex + 1, canaryWeight: machine.canaryShare, reason: event.reason))
        if history.count > RolloutRun.historyLimit { history.removeFirst(history.count - RolloutRun.historyLimit) }
        updatedAt = now
    }

    mutating func recordVerdict(at now: Date) {
        guard let judgement = machine.lastJudgement else { return }
        verdicts.append("\(ISO8601.string(now)) \(judgement.verdict.rawValue): \(judgement.reason)")
        if verdicts.count > RolloutRun.verdictLimit { verdicts.removeFirst(verdicts.count - RolloutRun.verdictLimit) }
        updatedAt = now
    }

    var document: RolloutDocument {
        let m = machine
        return RolloutDocument(
            route: m.route, canary: m.canary, baseline: m.baseline, state: m.state.rawValue,
            step: m.stepIndex + 1, steps: m.policy.steps, gates: m.policy.gates, onFailure: m.policy.onFailure.rawValue,
            pausedOnFailure: m.state == .paused && m.pausedOnFailure, canaryWeight: m.canaryShare, stepSeconds: Double(m.stepClock) / 1e9,
            stepDurationSeconds: Double(m.policy.stepDuration) / 1e9, minRequests: m.policy.minRequests, looks: m.looks,
            verdict: m.lastJudgement?.verdict.rawValue, reason: m.reason, checks: m.lastJudgement?.checks ?? [],
            canarySample: .init(requests: m.stepSample.canary.requests, errors: m.stepSample.canary.errors),
            baselineSample: .init(requests: m.stepSample.baseline.requests, errors: m.stepSample.baseline.errors),
            verdicts: verdicts, history: history,
            startedAt: ISO8601.string(startedAt), updatedAt: ISO8601.string(updatedAt))
    }

    /// A route with a policy and no rollout since the proxy started.
    static func idleDocument(_ route: RouteConfig, policy: RolloutConfig) -> RolloutDocument {
        RolloutDocument(route: route.name, canary: "", baseline: "", state: "idle", step: 0, steps: policy.steps,
                        gates: policy.gates, onFailure: policy.onFailure.rawValue, pausedOnFailure: false, canaryWeight: 0, stepSeconds: 0,
                        stepDurationSeconds: Double(policy.stepDuration.nanoseconds) / 1e9, minRequests: policy.minRequests,
                        looks: 0, verdict: nil, reason: "no rollout started", checks: [],
                        canarySample: .init(requests: 0, errors: 0), baselineSample: .init(requests: 0, errors: 0),
                        verdicts: [], history: [], startedAt: nil, updatedAt: nil)
    }
}

/// The judge's policy from the config's.
extension RolloutPolicy {
    init(_ config: RolloutConfig) {
        func ns(_ d: Config.Duration) -> UInt64 { UInt64(max(0, d.nanoseconds)) }
        self.init(steps: config.steps, stepDuration: ns(config.stepDuration), minRequests: config.minRequests,
                  interval: ns(config.interval), warmup: ns(config.warmup),
                  errorRate: config.errorRate.map { .init(maxRatio: $0.maxRatio, maxIncrease: $0.maxIncrease, max: $0.max) },
                  latency: config.latency.map { .init(quantile: $0.quantile, maxRatio: $0.maxRatio, max: $0.max.map(ns)) },
                  confidence: config.confidence, onFailure: config.onFailure == .pause ? .pause : .rollback,
                  gates: config.gates)
    }
}

enum ISO8601 {
    static func string(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

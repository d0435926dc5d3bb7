// TEMPORARY STUB, replaced by the judge helper's CanaryJudge.swift.
public struct CanaryJudge: Sendable {
    let policy: RolloutPolicy
    public init(policy: RolloutPolicy, latencyBounds: [UInt64]) { self.policy = policy }
    public func alpha(forLook look: Int) -> Double { (1 - policy.confidence) * 6 / (Double.pi * Double.pi * Double(look * look)) }
    public func judge(canary: PoolSample, baseline: PoolSample, look: Int) -> Judgement {
        if canary.requests >= 10, canary.errors * 10 > canary.requests {
            return Judgement(verdict: .fail, checks: [], reason: "error rate \(canary.errors)/\(canary.requests)")
        }
        if canary.requests < UInt64(policy.minRequests) { return Judgement(verdict: .insufficient, checks: [], reason: "\(canary.requests) of \(policy.minRequests) canary requests") }
        return Judgement(verdict: .pass, checks: [], reason: "ok")
    }
}

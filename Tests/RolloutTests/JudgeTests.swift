import Glibc
import Testing
@testable import Rollout

/// The judge's verdicts and sentences on hand-made samples.
@Suite struct JudgeTests {
    static func policy(errorRate: RolloutPolicy.ErrorRateCheck? = .init(maxRatio: 2, maxIncrease: 0.005, max: 0.05),
                       latency: RolloutPolicy.LatencyCheck? = .init(quantile: 0.99, maxRatio: 1.3, max: 1_000_000_000),
                       minRequests: Int = 500, confidence: Double = 0.99) -> RolloutPolicy {
        RolloutPolicy(steps: [1, 5, 25, 50], stepDuration: 300_000_000_000, minRequests: minRequests,
                      interval: 10_000_000_000, warmup: 0, errorRate: errorRate, latency: latency,
                      confidence: confidence, onFailure: .rollback, gates: [])
    }

    static func judge(_ policy: RolloutPolicy = policy()) -> CanaryJudge {
        CanaryJudge(policy: policy, latencyBounds: JudgeHistogram.bounds)
    }

    /// `n` requests, `errors` of them errors, latencies spread evenly over ±20 % around `ms`,
    /// plus `slow` requests at `slowMs`.
    static func sample(_ n: UInt64, errors: UInt64, ms: Double = 20, slow: UInt64 = 0, slowMs: Double = 0) -> PoolSample {
        var counts = JudgeHistogram.empty()
        for i in 0..<(n - slow) {
            let ns = ms * 1e6 * (0.8 + 0.4 * Double(i % 101) / 100)
            JudgeHistogram.record(UInt64(ns), into: &counts)
        }
        for _ in 0..<slow { JudgeHistogram.record(UInt64(slowMs * 1e6), into: &counts) }
        return PoolSample(requests: n, errors: errors, latencyCounts: counts)
    }

    @Test func spendingSumsToAlpha() {
        let judge = Self.judge()
        var total = 0.0
        for k in 1...1_000_000 { total += judge.alpha(forLook: k) }
        #expect(total <= 0.01 && total > 0.00999)
        #expect(abs(judge.alpha(forLook: 1) - 0.01 * 6 / (Double.pi * Double.pi)) < 1e-15)
        #expect(judge.alpha(forLook: 0) == judge.alpha(forLook: 1))
        #expect(judge.testsPerLook == 4)
    }

    @Test func theIssuesSentence() {
        let judge = Self.judge(Self.policy(latency: nil))
        let j = judge.judge(canary: Self.sample(812, errors: 39), baseline: Self.sample(15_230, errors: 30), look: 3)
        #expect(j.verdict == .fail)
        #expect(j.reason == "error rate 4.8 % vs baseline 0.2 % over 812 / 15,230 requests (limit 0.7 %)")
        #expect(j.checks.count == 1 && j.checks[0].check == "error_rate" && j.checks[0].verdict == .fail)
        #expect(abs(j.checks[0].threshold! - (30.0 / 15_230 + 0.005)) < 1e-12)
    }

    @Test func aZeroErrorBaselineStillCompares() {
        // The ratio part alone: 5 / 500 against 0 / 50,000 fails.
        let ratioOnly = Self.judge(Self.policy(errorRate: .init(maxRatio: 2, maxIncrease: nil, max: nil), latency: nil))
        let baseline = Self.sample(50_000, errors: 0)
        #expect(ratioOnly.judge(canary: Self.sample(500, errors: 5), baseline: baseline, look: 1).verdict == .fail)
        #expect(ratioOnly.judge(canary: Self.sample(500, errors: 5), baseline: baseline, look: 100).verdict == .fail)
        #expect(ratioOnly.judge(canary: Self.sample(500, errors: 1), baseline: baseline, look: 1).verdict == .pass)
        // With max_increase 0.5 % too, the canary must also be clearly above 0.5 %: 5 / 500 is
        // not evidence of that, 15 / 500 is.
        let both = Self.judge(Self.policy(latency: nil))
        #expect(both.judge(canary: Self.sample(500, errors: 5), baseline: baseline, look: 1).verdict == .pass)
        #expect(both.judge(canary: Self.sample(500, errors: 15), baseline: baseline, look: 1).verdict == .fail)
        // Both at zero with enough requests: a pass.
        let clean = both.judge(canary: Self.sample(500, errors: 0), baseline: baseline, look: 7)
        #expect(clean.verdict == .pass && clean.checks[0].canary == 0 && clean.checks[0].baseline == 0)
    }

    @Test func aCanaryFailingEveryRequestFailsWithinAHandful() {
        let judge = Self.judge()
        let baseline = Self.sample(10_000, errors: 100)
        let j = judge.judge(canary: Self.sample(5, errors: 5), baseline: baseline, look: 1)
        #expect(j.verdict == .fail)
        // …but no error at all on a handful is only insufficient.
        let few = judge.judge(canary: Self.sample(30, errors: 0), baseline: baseline, look: 1)
        #expect(few.verdict == .insufficient && few.reason == "30 of 500 canary requests needed")
        #expect(few.checks.allSatisfy { $0.verdict == .insufficient })
    }

    @Test func equallyBadSidesFailOnlyTheAbsoluteGuard() {
        let judge = Self.judge(Self.policy(latency: nil))
        let canary = Self.sample(500, errors: 60), baseline = Self.sample(16_000, errors: 2_000)
        let analysis = judge.errorRate(judge.policy.errorRate!, canary: canary, baseline: baseline,
                                       delta: judge.alpha(forLook: 4) / 2)
        #expect(analysis.relative == .passed && analysis.absolute == .failed)
        let j = judge.judge(canary: canary, baseline: baseline, look: 4)
        #expect(j.verdict == .fail)
        #expect(j.reason == "error rate 12.0 % over the absolute limit 5 % (canary 60 / 500, baseline 2,000 / 16,000: both sides are failing)")
        #expect(j.checks[0].threshold == 0.05)
    }

    @Test func aSmallBaselineLeavesOnlyTheAbsoluteGuard() {
        let judge = Self.judge(Self.policy(latency: nil))
        let j = judge.judge(canary: Self.sample(600, errors: 6), baseline: Self.sample(120, errors: 1), look: 2)
        #expect(j.verdict == .insufficient)
        #expect(j.reason == "120 of 500 baseline requests needed to compare error rates")
        let bad = judge.judge(canary: Self.sample(600, errors: 90), baseline: Self.sample(120, errors: 1), look: 2)
        #expect(bad.verdict == .fail && bad.reason.contains("absolute limit 5 %"))
        let none = judge.judge(canary: Self.sample(600, errors: 90), baseline: PoolSample(), look: 2)
        #expect(none.verdict == .fail && none.reason.contains("no baseline requests"))
    }

    @Test func noCanaryRequestsIsInsufficient() {
        let judge = Self.judge()
        let j = judge.judge(canary: PoolSample(), baseline: Self.sample(10_000, errors: 10), look: 1)
        #expect(j.verdict == .insufficient && j.checks.count == 2)
        #expect(j.reason == "0 of 500 canary requests needed")
    }

    @Test func latencyRelativeFailAndPass() {
        let judge = Self.judge(Self.policy(errorRate: nil))
        let baseline = Self.sample(20_000, errors: 0, ms: 20, slow: 300, slowMs: 38)
        let slowCanary = Self.sample(812, errors: 0, ms: 20, slow: 40, slowMs: 412)
        let j = judge.judge(canary: slowCanary, baseline: baseline, look: 5)
        #expect(j.verdict == .fail)
        #expect(j.reason.hasPrefix("p99 4") && j.reason.contains("vs baseline 3") && j.reason.contains("40 of 812 canary requests above it"),
                "\(j.reason)")
        let c = j.checks[0]
        #expect(c.check == "latency" && c.canary! > 0.39 && c.canary! < 0.44 && c.baseline! > 0.035 && c.baseline! < 0.04)
        #expect(c.threshold! > 1.3 * 0.038 && c.threshold! < 1.3 * 0.045)
        let fine = judge.judge(canary: Self.sample(812, errors: 0, ms: 21), baseline: baseline, look: 5)
        #expect(fine.verdict == .pass, "\(fine.reason)")
        #expect(fine.reason.hasPrefix("p99 2") && fine.reason.contains("(limit "))
    }

    @Test func latencyAbsoluteGuardWhenBothAreSlow() {
        let judge = Self.judge(Self.policy(errorRate: nil))
        let baseline = Self.sample(20_000, errors: 0, ms: 1500)
        let canary = Self.sample(600, errors: 0, ms: 1500)
        let analysis = judge.latency(judge.policy.latency!, canary: canary, baseline: baseline, delta: 1e-4)
        #expect(analysis.relative == .passed && analysis.absolute == .failed)
        let j = judge.judge(canary: canary, baseline: baseline, look: 1)
        #expect(j.verdict == .fail && j.reason.hasPrefix("p99 1.") && j.reason.contains("over the absolute limit 1 s")
                && j.reason.hasSuffix("both sides are failing)"), "\(j.reason)")
    }

    @Test func latencyNeedsEnoughBaselineToBoundItsQuantile() {
        // 600 baseline requests cannot bound a p99 at look 50's level (0.99^600 ≈ 0.0024).
        let judge = Self.judge(Self.policy(errorRate: nil, latency: .init(quantile: 0.99, maxRatio: 1.3, max: nil)))
        let j = judge.judge(canary: Self.sample(600, errors: 0), baseline: Self.sample(600, errors: 0), look: 50)
        #expect(j.verdict == .insufficient && j.reason.contains("too few to bound its p99"), "\(j.reason)")
        // No latency recorded at all.
        let none = judge.judge(canary: PoolSample(requests: 600, errors: 0), baseline: Self.sample(20_000, errors: 0), look: 1)
        #expect(none.verdict == .insufficient && none.reason == "no canary latency recorded")
    }

    @Test func histogramsOfOtherLengthsAreRead() {
        // Counts longer than the bounds fold into the overflow; any increasing bounds work.
        let judge = CanaryJudge(policy: Self.policy(errorRate: nil, latency: .init(quantile: 0.5, maxRatio: 2, max: nil)),
                                latencyBounds: [10, 20, 40, 80])
        let baseline = PoolSample(requests: 1_000, errors: 0, latencyCounts: [0, 1_000, 0, 0, 0])
        let slow = PoolSample(requests: 1_000, errors: 0, latencyCounts: [0, 0, 0, 0, 500, 500])
        #expect(judge.judge(canary: slow, baseline: baseline, look: 1).verdict == .fail)
        let same = PoolSample(requests: 1_000, errors: 0, latencyCounts: [0, 1_000])
        #expect(judge.judge(canary: same, baseline: baseline, look: 1).verdict == .pass)
    }

    @Test func deterministic() {
        let judge = Self.judge()
        let c = Self.sample(900, errors: 14, slow: 9, slowMs: 80), b = Self.sample(30_000, errors: 300)
        #expect(judge.judge(canary: c, baseline: b, look: 9) == judge.judge(canary: c, baseline: b, look: 9))
    }
}

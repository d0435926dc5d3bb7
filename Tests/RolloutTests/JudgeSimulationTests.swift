import Glibc
import Testing
@testable import Rollout

/// Whole rollouts simulated with a seeded generator: steps [1, 5, 25, 50] % of 1,000 req/s,
/// a look every 10 s, 30 looks a step (counters reset at each step, the look index running over
/// the rollout), policy: error rate max_ratio 2, max_increase 0.5 %, max 5 %; p99 max_ratio 1.3,
/// max 1 s; min_requests 500; confidence 0.99. Baseline: 1 % errors, latency lognormal with
/// median 20 ms and σ 0.4 (p99 ≈ 51 ms). Each test prints its figures.
@Suite struct JudgeSimulationTests {
    static let policy = JudgeTests.policy()
    static let judge = JudgeTests.judge(policy)
    static let fast = LatencyModel.lognormal(median: 20e6, sigma: 0.4)
    static let healthy = PoolModel(errorRate: 0.01, latency: fast)

    struct Figures {
        var rollouts = 0
        var failures = 0
        var canaryRequests: [UInt64] = []
        var looks: [UInt64] = []
        var judgements: [Judgement] = []

        var detectionRate: Double { Double(failures) / Double(max(rollouts, 1)) }
    }

    static func simulate(_ rollouts: Int, seed: UInt64, canary: PoolModel, baseline: PoolModel,
                         simulation: RolloutSimulation = RolloutSimulation(),
                         judge: CanaryJudge = judge) -> Figures {
        var rng = SplitMix64(seed: seed)
        var figures = Figures()
        for _ in 0..<rollouts {
            let outcome = simulation.run(judge: judge, canary: canary, baseline: baseline, rng: &rng)
            figures.rollouts += 1
            if let look = outcome.failedAtLook, let j = outcome.judgement {
                figures.failures += 1
                figures.canaryRequests.append(outcome.canaryRequests)
                figures.looks.append(UInt64(look))
                figures.judgements.append(j)
            }
        }
        return figures
    }

    static func report(_ name: String, _ f: Figures) {
        let rate = judgePercent(f.failures, of: f.rollouts)
        print("\(name): \(f.rollouts) rollouts, detected \(f.failures) (\(rate)), median \(JudgeFormat.count(f.canaryRequests.median)) canary requests (look \(f.looks.median)) to the fail verdict")
    }

    @Test func aaRolloutsRarelyRollBack() async {
        // 1,000 rollouts in 4 seeded batches run side by side.
        let f = await withTaskGroup(of: Figures.self) { group in
            for batch in 0..<4 {
                group.addTask {
                    Self.simulate(250, seed: 0xA4A4 &+ UInt64(batch), canary: Self.healthy, baseline: Self.healthy)
                }
            }
            var total = Figures()
            for await part in group {
                total.rollouts += part.rollouts
                total.failures += part.failures
                total.judgements += part.judgements
            }
            return total
        }
        print("A/A: \(f.rollouts) rollouts × 120 looks, \(f.failures) false rollbacks (\(judgePercent(f.failures, of: f.rollouts))); limit 1 − confidence = 1 %")
        for j in f.judgements { print("  false rollback: \(j.reason)") }
        #expect(f.failures <= 10)
    }

    /// The worst case the guarantee covers: a canary exactly at its limit (2 % errors against
    /// 1 %, max_ratio 2), with latency equal.
    @Test func aCanaryAtItsLimitRarelyRollsBack() async {
        let atLimit = PoolModel(errorRate: 0.02, latency: Self.fast)
        let f = await withTaskGroup(of: Figures.self) { group in
            for batch in 0..<2 {
                group.addTask {
                    Self.simulate(250, seed: 0xED6E &+ UInt64(batch), canary: atLimit, baseline: Self.healthy)
                }
            }
            var total = Figures()
            for await part in group {
                total.rollouts += part.rollouts
                total.failures += part.failures
            }
            return total
        }
        print("canary at its limit (2 % vs 1 %, max_ratio 2): \(f.rollouts) rollouts, \(f.failures) false rollbacks (\(judgePercent(f.failures, of: f.rollouts)))")
        #expect(f.failures <= 5)
    }

    @Test func fivePercentErrorsAgainstPointOnePercent() {
        let f = Self.simulate(200, seed: 1, canary: PoolModel(errorRate: 0.05, latency: Self.fast),
                              baseline: PoolModel(errorRate: 0.001, latency: Self.fast))
        Self.report("errors 5 % vs baseline 0.1 %", f)
        #expect(f.detectionRate >= 0.95)
        #expect(f.judgements.allSatisfy { $0.checks[0].check == "error_rate" && $0.checks[0].verdict == .fail })
        #expect(f.canaryRequests.median <= 1_000)
    }

    @Test func errorsAgainstABaselineWithNone() {
        let f = Self.simulate(200, seed: 2, canary: PoolModel(errorRate: 0.02, latency: Self.fast),
                              baseline: PoolModel(errorRate: 0, latency: Self.fast))
        Self.report("errors 2 % vs baseline 0 %", f)
        #expect(f.detectionRate >= 0.95)
        #expect(f.canaryRequests.median <= 3_000)
    }

    @Test func p99TwoHundredMillisecondsSlower() {
        // 2 % of the canary's requests take 200 ms more: its p99 ≈ 220 ms against ≈ 51 ms.
        let slow = LatencyModel(components: [(0.98, 20e6, 0.4, 0), (0.02, 20e6, 0.4, 200e6)])
        let f = Self.simulate(200, seed: 3, canary: PoolModel(errorRate: 0.01, latency: slow), baseline: Self.healthy)
        Self.report("p99 +200 ms (2 % of requests 200 ms slower)", f)
        let at = f.judgements.map(\.checks[1])
        let canaryP99 = at.compactMap(\.canary).sorted(), baselineP99 = at.compactMap(\.baseline).sorted()
        if !canaryP99.isEmpty {
            print("  at the fail verdict: canary p99 \(JudgeFormat.duration(nanoseconds: canaryP99[canaryP99.count / 2] * 1e9)), baseline p99 \(JudgeFormat.duration(nanoseconds: baselineP99[baselineP99.count / 2] * 1e9)) (medians)")
        }
        #expect(f.detectionRate >= 0.95)
        #expect(at.allSatisfy { $0.check == "latency" && $0.verdict == .fail })
        #expect(f.canaryRequests.median <= 4_000)
    }

    @Test func sharedOutageFailsOnlyTheAbsoluteGuard() {
        let sick = PoolModel(errorRate: 0.10, latency: Self.fast)
        var rng = SplitMix64(seed: 4)
        var figures = Figures()
        var relativeFailed = 0
        for _ in 0..<200 {
            let outcome = RolloutSimulation().run(judge: Self.judge, canary: sick, baseline: sick, rng: &rng)
            figures.rollouts += 1
            guard let look = outcome.failedAtLook, let j = outcome.judgement else { continue }
            figures.failures += 1
            figures.canaryRequests.append(outcome.canaryRequests)
            figures.looks.append(UInt64(look))
            let error = j.checks[0]
            #expect(error.check == "error_rate" && error.verdict == .fail && error.threshold == 0.05)
            #expect(error.reason.contains("over the absolute limit 5 %") && error.reason.hasSuffix("both sides are failing)"))
            if !error.reason.contains(" vs baseline ") { continue }
            relativeFailed += 1
        }
        Self.report("shared outage, 10 % errors on both sides (max 5 %)", figures)
        print("  relative part failed in \(relativeFailed) of them")
        #expect(figures.detectionRate >= 0.95)
        #expect(relativeFailed == 0)
    }

    @Test func oneRequestPerSecondHoldsUntilMinRequests() {
        // 1 % of 100 req/s: 10 canary requests a look, min_requests 500 reached at look 50.
        let simulation = RolloutSimulation(steps: [1], requestsPerSecond: 100, intervalSeconds: 10, looksPerStep: 60)
        var rng = SplitMix64(seed: 5)
        var early = [Verdict: Int](), late = [Verdict: Int]()
        let rollouts = 200
        for _ in 0..<rollouts {
            let outcome = simulation.run(judge: Self.judge, canary: Self.healthy, baseline: Self.healthy, rng: &rng)
            for (i, v) in outcome.verdicts.enumerated() {
                if i < 49 { early[v, default: 0] += 1 } else { late[v, default: 0] += 1 }
            }
        }
        print("1 req/s: \(rollouts) rollouts, looks before 500 canary requests: \(early[.insufficient, default: 0]) insufficient, \(early[.pass, default: 0]) pass, \(early[.fail, default: 0]) fail; after: \(late[.pass, default: 0]) pass, \(late[.insufficient, default: 0]) insufficient, \(late[.fail, default: 0]) fail")
        #expect(early[.insufficient, default: 0] == rollouts * 49)
        #expect(late[.fail, default: 0] == 0)
    }
}

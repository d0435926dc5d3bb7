import Foundation
import Testing

/// The automated canary's failure paths: a canary failing 5 % of its requests, or 200 ms slower,
/// is rolled back at its first step (share 0 on every worker at once, the file saying blue 100 /
/// green 0, the reason naming the check), no client is sent to it afterwards even with a sticky
/// cookie naming it, and `on_failure: pause` holds instead of rolling back.
@Suite(.serialized) struct RolloutFailureTests {
    @Test func aCanaryFailingFivePercentIsRolledBackAtItsFirstStep() async throws {
        // The judge needs about 200 canary requests to tell 5 % from the 0.5 % allowed; the step
        // (100 requests, then 4 s of passing looks) lasts well past that at any request rate, so
        // the failure can only come at step 1. It comes in about 2 s, whatever the step's length.
        var policy = RolloutYAML()
        policy.stepDuration = "4s"
        policy.minRequests = 100
        let r = try await RolloutBed.start(policy, workers: 2)
        defer { r.tearDown() }
        try await r.green.fault(errorRate: 0.05)
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }

        let asked = monotonicNanoseconds()
        let result = try await r.cutover(["rollout", "start", "app", "green", "--wait"])
        let returned = monotonicNanoseconds()
        #expect(result.status == 1, "\(result)")
        #expect((result.stdout + result.stderr).contains("error rate"), "the reason is printed: \(result)")

        let doc = try await r.rollout()
        #expect(doc.state == "failed", "\(doc)")
        #expect(doc.step == 1, "rolled back at its first step: \(doc)")
        #expect(doc.canaryWeight == 0, "\(doc)")
        #expect(doc.verdict == "fail", "\(doc)")
        #expect(doc.reason.contains("error rate"), "\(doc.reason)")
        let check = doc.check("error_rate")
        #expect(check?["verdict"] as? String == "fail", "\(doc.checks)")
        let observed = (check?["canary"] as? NSNumber)?.doubleValue ?? -1
        #expect(observed > 0.03 && observed < 0.08, "the canary's error rate is about 5 %: \(observed)")
        #expect(doc.canarySample.errors > 0 && doc.canarySample.requests >= doc.canarySample.errors, "\(doc)")
        #expect(doc.events.first == "started" && doc.events.last == "rolled_back", "\(doc.events)")

        // The file says blue 100 / green 0, byte for byte as written (comments kept).
        #expect(try r.fileText() == r.text)
        #expect(try await r.effectiveWeights() == ["blue": 100, "green": 0])

        // Afterwards every request goes to blue, on both workers.
        #expect(try await r.answers(40) == Array(repeating: "blue", count: 40))
        let report = try await load.stop()
        let late = report.sent(after: returned)
        #expect(!late.isEmpty && late.allSatisfy { $0.backend == "blue" && $0.succeeded },
                "after the rollback: \(late.filter { $0.backend != "blue" || !$0.succeeded }.prefix(5))")
        let failed = report.failures
        #expect(failed.allSatisfy { $0.status == 500 && $0.backend == "green" }, "only green's faults fail: \(report.failureSummary)")
        let during = report.records.filter { $0.sent >= asked && $0.sent <= returned }
        print("rollout figures: 5 % failing canary rolled back \(rolloutMilliseconds(asked, returned)) ms after `rollout start --wait`; "
              + "\(failed.count) client requests failed in all (of \(report.records.count); \(during.count) sent during the rollout, "
              + "\(during.filter { $0.backend == "green" }.count) of them to green); judged sample: canary \(doc.canarySample), "
              + "baseline \(doc.baselineSample); reason: \(doc.reason)")

        let m = try await r.metrics()
        #expect(m.value("cutover_rollouts_total", ["route": "app", "result": "rolled_back"]) == 1, "\(m.text)")
        #expect(m.value("cutover_rollout_state", ["route": "app", "state": "failed"]) == 1)
        #expect(m.value("cutover_rollout_canary_weight", ["route": "app"]) == 0)
        let value = m.value("cutover_rollout_check_value", ["route": "app", "check": "error_rate", "pool": "green"])
        #expect(value.map { $0 > 0.03 && $0 < 0.08 } == true, "canary error rate metric: \(String(describing: value))")
        #expect(m.value("cutover_rollout_check_value", ["route": "app", "check": "error_rate", "pool": "blue"]) == 0)
        #expect(m.value("cutover_rollout_check_threshold", ["route": "app", "check": "error_rate"]) != nil, "\(m.text)")
    }

    @Test func aCanarySlowerBy200msIsRolledBackByTheLatencyCheck() async throws {
        let r = try await RolloutBed.start()
        defer { r.tearDown() }
        try await r.green.fault(delayMs: 200)
        // More clients: each green request holds its client for 200 ms, and the relative check
        // needs about a thousand baseline answers to bound the baseline's p99.
        let load = try r.load(keepAlive: 12)
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }

        let asked = monotonicNanoseconds()
        let result = try await r.cutover(["rollout", "start", "app", "green", "--wait"])
        let returned = monotonicNanoseconds()
        #expect(result.status == 1, "\(result)")
        let doc = try await r.rollout()
        #expect(doc.state == "failed" && doc.step == 1 && doc.canaryWeight == 0, "\(doc)")
        let latency = doc.check("latency")
        #expect(latency?["verdict"] as? String == "fail", "\(doc.checks)")
        #expect(doc.check("error_rate")?["verdict"] as? String != "fail", "\(doc.checks)")
        let canary = (latency?["canary"] as? NSNumber)?.doubleValue ?? -1
        let baseline = (latency?["baseline"] as? NSNumber)?.doubleValue ?? -1
        #expect(canary >= 0.15 && canary < 1, "the canary's p99 in seconds: \(canary)")
        #expect(baseline >= 0 && baseline < 0.1, "the baseline's p99 in seconds: \(baseline)")
        let reason = doc.reason.lowercased()
        #expect(reason.contains("p99") || reason.contains("latency"), "\(doc.reason)")
        #expect(try r.fileText() == r.text)
        #expect(try await r.answers(20) == Array(repeating: "blue", count: 20))
        let report = try await load.stop()
        #expect(report.failures.count == 0, "slow is not failed: \(report.failureSummary)")
        #expect(report.sent(after: returned).allSatisfy { $0.backend == "blue" })
        print("rollout figures: 200 ms slower canary rolled back \(rolloutMilliseconds(asked, returned)) ms after start; "
              + "canary sample \(doc.canarySample); reason: \(doc.reason)")
    }

    /// Sticky cookies keep a client on its pool during the rollout; after the rollback, a client
    /// whose cookie names the canary is sent to blue.
    @Test func afterARollbackNoStickyClientReachesTheCanary() async throws {
        var policy = RolloutYAML()
        policy.stepDuration = "10s"   // step 1 lasts while the test collects cookies
        let r = try await RolloutBed.start(policy, workers: 2, sticky: true)
        defer { r.tearDown() }
        let started = try await r.cutover(["rollout", "start", "app", "green"])
        #expect(started.status == 0, "\(started)")
        try await r.waitForRollout("step 1 runs") { $0.canaryWeight == 10 && ($0.state == "progressing" || $0.state == "warmup") }

        // New clients until one is given green (10 % of them).
        var greenCookie = false
        for _ in 0..<300 where !greenCookie {
            let client = try RawClient(port: r.port)
            try client.send(ColourBed.request())
            let response = try await client.readResponse()
            greenCookie = StickyOverrideTests.assigned(response) == "green"
        }
        try #require(greenCookie, "no new client was assigned green in 300")
        let stuck = try await r.answers(20, headers: ["Cookie: cutover_pool=green"])
        #expect(stuck == Array(repeating: "green", count: 20), "the sticky client stays on green during the step")

        // Green breaks: 20 % of its answers fail; the load (no cookies) finds it out.
        try await r.green.fault(errorRate: 0.2)
        let load = try r.load()
        defer { load.kill() }
        let failed = try await r.waitForRollout("green is rolled back") { $0.state == "failed" }
        #expect(failed.canaryWeight == 0, "\(failed)")
        let after = try await r.answers(30, headers: ["Cookie: cutover_pool=green"])
        #expect(after == Array(repeating: "blue", count: 30), "a green cookie after the rollback: \(after)")
        let fresh = try await r.answers(30)
        #expect(fresh == Array(repeating: "blue", count: 30), "new clients after the rollback: \(fresh)")
        _ = try await load.stop()
    }

    @Test func onFailurePauseHoldsTheCanaryInsteadOfRollingBack() async throws {
        var policy = RolloutYAML()
        policy.onFailure = "pause"
        policy.minRequests = 50
        policy.stepDuration = "3s"   // step 1 outlasts the judge's evidence of 10 % failing
        let r = try await RolloutBed.start(policy)
        defer { r.tearDown() }
        try await r.green.fault(errorRate: 0.1)
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }

        let result = try await r.cutover(["rollout", "start", "app", "green", "--wait"])
        #expect(result.status == 1, "paused on failure exits 1: \(result)")
        let paused = try await r.rollout()
        #expect(paused.state == "paused", "\(paused)")
        #expect(paused.step == 1, "a 10 % failing canary is caught at its first step: \(paused)")
        #expect(paused.canaryWeight == paused.steps?[max(0, (paused.step ?? 1) - 1)], "the share is held at the step: \(paused)")
        #expect(paused.reason.contains("error rate"), "\(paused.reason)")
        #expect(!paused.events.contains("rolled_back"), "\(paused.events)")
        #expect(try r.fileText() == r.text)
        // It stays paused: it neither advances nor rolls back on its own.
        try await r.holds("the pause", for: .milliseconds(1500)) { $0.state == "paused" && $0.step == paused.step }
        let m = try await r.metrics()
        #expect(m.sum("cutover_rollouts_total", ["route": "app"]) == 0, "\(m.text)")
        #expect(m.value("cutover_rollout_state", ["route": "app", "state": "paused"]) == 1)

        // The operator aborts it: back to blue at once.
        let abort = try await r.cutover(["rollout", "abort", "app"])
        #expect(abort.status == 0, "\(abort)")
        #expect(try await r.answers(20) == Array(repeating: "blue", count: 20))
        let aborted = try await r.rollout()
        #expect(aborted.state == "aborted" && aborted.canaryWeight == 0, "\(aborted)")
        _ = try await load.stop()
    }
}

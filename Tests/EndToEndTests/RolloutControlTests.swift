import Foundation
import Testing

/// Operating a running rollout: no traffic holds it (never a failure), `pause`/`resume`, `abort`
/// (back to the baseline at once, a concurrent `--wait` exits 1), and the admin API's refusals.
@Suite(.serialized) struct RolloutControlTests {
    @Test func noTrafficHoldsTheStepAndTrafficResumesIt() async throws {
        let r = try await RolloutBed.start()
        defer { r.tearDown() }
        let started = try await r.cutover(["rollout", "start", "app", "green"])
        #expect(started.status == 0, "\(started)")
        #expect(started.stdout.contains("green"), "\(started.stdout)")

        // Two seconds (twice the step's duration, eight intervals) with no request at all: the
        // verdict is insufficient, the step stays at 10 %, nothing fails. (A look without new
        // data need not count in `looks`, so the time is the measure here.)
        var seen: Set<String> = []
        let docs = try await r.holds("the step without traffic", for: .seconds(2)) { doc in
            seen.insert(doc.state ?? "nil")
            return ["warmup", "progressing"].contains(doc.state ?? "") && doc.step == 1 && doc.canaryWeight == 10
        }
        let held = try #require(docs.last)
        #expect(seen.contains("progressing"), "states seen without traffic: \(seen)")
        #expect(held.state == "progressing", "\(held)")
        #expect(held.verdict == "insufficient", "\(held)")
        #expect((held.stepSeconds ?? 99) < (held.stepDurationSeconds ?? 1), "the step's clock stops without data: \(held)")
        #expect(held.canarySample.requests == 0, "\(held)")
        #expect(!held.events.contains { ["rolled_back", "paused", "aborted", "promoted"].contains($0) }, "\(held.events)")

        // Traffic resumes it: it advances.
        let load = try r.load()
        defer { load.kill() }
        let second = try await r.waitForRollout("the rollout advances once traffic flows") { ($0.step ?? 0) >= 2 }
        #expect(second.state == "progressing" || second.state == "promoted", "\(second)")
        #expect(!second.events.contains { ["rolled_back", "paused", "aborted"].contains($0) }, "\(second.events)")
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
    }

    @Test func warmupWithholdsTheVerdictWhileTheCanaryTakesItsShare() async throws {
        var policy = RolloutYAML()
        policy.warmup = "1500ms"
        let r = try await RolloutBed.start(policy)
        defer { r.tearDown() }
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }

        let asked = monotonicNanoseconds()
        #expect(try await r.cutover(["rollout", "start", "app", "green"]).status == 0)
        let greenBefore = try await r.green.counts().heads
        try await r.holds("the warm-up", for: .milliseconds(1100)) {
            $0.state == "warmup" && $0.verdict == nil && $0.canaryWeight == 10 && $0.step == 1
        }
        #expect(try await r.green.counts().heads > greenBefore + 20, "the canary takes its share while warming up")
        let judged = try await r.waitForRollout("the warm-up ends") { $0.state == "progressing" }
        let ended = rolloutMilliseconds(asked, monotonicNanoseconds())
        #expect(ended >= 1500, "the warm-up of 1.5 s ended \(ended) ms after the start")
        #expect(judged.step == 1 && judged.canaryWeight == 10, "\(judged)")
        _ = try await load.stop()
    }

    @Test func abortSendsEverythingToTheBaselineAtOnceAndAWaitingStartExitsOne() async throws {
        var policy = RolloutYAML()
        policy.stepDuration = "10s"
        let r = try await RolloutBed.start(policy, workers: 2)
        defer { r.tearDown() }
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }

        let waiting = try r.background(["rollout", "start", "app", "green", "--wait"])
        try await r.waitForRollout("step 1 runs") { $0.state == "progressing" && $0.canaryWeight == 10 }
        try await waitUntil("green takes some of the load") { try await r.green.counts().heads >= 20 }

        let abort = try await r.cutover(["rollout", "abort", "app"])
        let returned = monotonicNanoseconds()
        #expect(abort.status == 0, "\(abort)")
        #expect(try await r.answers(40) == Array(repeating: "blue", count: 40))
        let doc = try await r.rollout()
        #expect(doc.state == "aborted" && doc.canaryWeight == 0, "\(doc)")
        #expect(doc.events.last == "aborted", "\(doc.events)")
        #expect(!doc.reason.isEmpty, "\(doc)")

        let status = try await waiting.waitForExit(timeout: .seconds(5))
        #expect(status == 1, "the waiting start exits 1 on abort: \(waiting.stdoutText) \(waiting.stderrText)")
        #expect((waiting.stdoutText + waiting.stderrText).contains("abort"), "\(waiting.stdoutText) \(waiting.stderrText)")
        #expect(try r.fileText() == r.text)

        let report = try await load.stop()
        let late = report.sent(after: returned)
        #expect(!late.isEmpty && late.allSatisfy { $0.backend == "blue" }, "\(late.filter { $0.backend != "blue" }.prefix(5))")
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        let m = try await r.metrics()
        #expect(m.value("cutover_rollouts_total", ["route": "app", "result": "aborted"]) == 1, "\(m.text)")
        #expect(m.value("cutover_rollout_state", ["route": "app", "state": "aborted"]) == 1)

        // A new rollout can start after an abort.
        let again = try await r.adminJSON("POST", "/rollouts/app/start?pool=green")
        #expect(again.status == 200 && again.json["state"] as? String != "aborted", "\(again)")
    }

    @Test func pauseHoldsTheStepAndResumeCarriesOn() async throws {
        let r = try await RolloutBed.start()
        defer { r.tearDown() }
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }
        #expect(try await r.cutover(["rollout", "start", "app", "green"]).status == 0)
        try await r.waitForRollout("step 1 runs") { $0.state == "progressing" && $0.step == 1 }

        let pause = try await r.cutover(["rollout", "pause", "app"])
        #expect(pause.status == 0, "\(pause)")
        let paused = try await r.rollout()
        #expect(paused.state == "paused" && paused.step == 1 && paused.canaryWeight == 10, "\(paused)")
        // Twice the step's duration with traffic: it neither advances nor fails.
        try await r.holds("the pause", for: .seconds(2)) { $0.state == "paused" && $0.step == 1 && $0.canaryWeight == 10 }
        let pausedAgain = try await r.adminJSON("POST", "/rollouts/app/pause")
        #expect(pausedAgain.status == 409 || pausedAgain.status == 200, "pausing a paused rollout: \(pausedAgain)")

        let resume = try await r.cutover(["rollout", "resume", "app"])
        #expect(resume.status == 0, "\(resume)")
        let resumed = try await r.rollout()
        #expect(resumed.state == "progressing" || resumed.state == "promoted", "\(resumed)")
        let done = try await r.waitForRollout("the rollout is promoted") { $0.state == "promoted" }
        #expect(done.events.contains("paused") && done.events.contains("resumed"), "\(done.events)")
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
    }

    @Test func theAdminAPIRefusesWhatItCannotDo() async throws {
        let r = try await RolloutBed.start(plainRoute: true)
        defer { r.tearDown() }

        let list = try await r.adminJSON("GET", "/rollouts")
        let docs = list.json["rollouts"] as? [[String: Any]] ?? []
        #expect(list.status == 200 && docs.contains { $0["route"] as? String == "app" }, "\(list)")
        #expect(try await r.admin("GET", "/rollouts/shop").status == 404)

        func refused(_ path: String, _ status: Int) async throws {
            let answer = try await r.adminJSON("POST", path)
            #expect(answer.status == status, "POST \(path): \(answer)")
            #expect(answer.json["ok"] as? Bool == false && !(answer.json["error"] as? String ?? "").isEmpty, "POST \(path): \(answer)")
        }
        try await refused("/rollouts/shop/start?pool=green", 404)
        try await refused("/rollouts/app/start?pool=purple", 422)
        try await refused("/rollouts/app/start", 422)
        try await refused("/rollouts/app/start?pool=green&baseline=green", 422)
        try await refused("/rollouts/plain/start?pool=green", 422)
        try await refused("/rollouts/app/promote", 409)
        try await refused("/rollouts/app/resume", 409)
        try await refused("/rollouts/app/abort", 409)

        let started = try await r.adminJSON("POST", "/rollouts/app/start?pool=green&baseline=blue")
        #expect(started.status == 200, "\(started)")
        let doc = RolloutDoc(started.json)
        #expect(doc.route == "app" && doc.canary == "green" && doc.baseline == "blue", "\(doc)")
        #expect(["warmup", "progressing"].contains(doc.state ?? ""), "\(doc)")
        try await refused("/rollouts/app/start?pool=green", 409)

        // The command line: the refusal's reason and exit 1; an unreachable API exits 2.
        let twice = try await r.cutover(["rollout", "start", "app", "green"])
        #expect(twice.status == 1 && !twice.stderr.isEmpty, "\(twice)")
        let plain = try await r.cutover(["rollout", "start", "plain", "green"])
        #expect(plain.status == 1 && plain.stderr.contains("rollout"), "\(plain)")
        let purple = try await r.cutover(["rollout", "start", "app", "purple"])
        #expect(purple.status == 1 && purple.stderr.contains("purple"), "\(purple)")
        let unreachable = try await r.cutover(["rollout", "start", "app", "green", "--admin", "127.0.0.1:\(try r.bed.refusingPort())"])
        #expect(unreachable.status == 2, "\(unreachable)")
        let status = try await r.cutover(["rollout", "status", "app", "--admin", "127.0.0.1:\(try r.bed.refusingPort())"])
        #expect(status.status == 2, "\(status)")
        let waiting = try await r.cutover(["rollout", "start", "app", "green", "--wait", "--admin", "127.0.0.1:\(try r.bed.refusingPort())"])
        #expect(waiting.status == 2, "\(waiting)")
        _ = try await r.adminJSON("POST", "/rollouts/app/abort")
    }
}

import Foundation
import Glibc
import Testing

/// A rollout across the proxy's own lifecycle: a reload that leaves the route's split and policy
/// alone keeps it going; one that changes the split, or drops the canary pool from the route,
/// aborts it; a proxy stopped with SIGTERM and started again on the same config and `state_dir`
/// resumes it at the step it was in.
@Suite(.serialized) struct RolloutLifecycleTests {
    @Test func aReloadThatLeavesTheRouteAloneKeepsTheRolloutGoing() async throws {
        let r = try await RolloutBed.start()
        defer { r.tearDown() }
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }
        #expect(try await r.cutover(["rollout", "start", "app", "green"]).status == 0)
        let before = try await r.waitForRollout("step 1 runs") { $0.state == "progressing" && $0.step == 1 }

        // An unchanged file, then an edit elsewhere (the connect timeout).
        let same = try await r.cutover(["reload"])
        #expect(same.status == 0, "\(same)")
        // A broken edit is rejected (FILE:LINE:COLUMN) and the rollout carries on.
        let broken = r.text.replacingOccurrences(of: "  confidence: 99%\n", with: "  confidence: 100%\n")
        try r.write(broken)
        let rejected = try await r.cutover(["reload"])
        let line = (broken.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("confidence: 100%") } ?? -1) + 1
        #expect(rejected.status == 1 && rejected.stderr.contains("\(r.file.path):\(line):"), "\(rejected)")
        let still = try await r.rollout()
        #expect(["progressing", "promoted"].contains(still.state ?? "") && still.startedAt == before.startedAt, "\(still)")

        let edited = r.text.replacingOccurrences(of: "  connect: 1s\n", with: "  connect: 2s\n")
        #expect(edited != r.text)
        try r.write(edited)
        let reload = try await r.cutover(["reload"])
        #expect(reload.status == 0, "\(reload)")
        let after = try await r.rollout()
        #expect(after.state == "progressing" || after.state == "promoted", "\(after)")
        #expect(after.startedAt == before.startedAt && !after.events.contains("aborted"), "\(after)")

        let done = try await r.waitForRollout("the rollout is promoted") { $0.state == "promoted" }
        #expect(done.startedAt == before.startedAt, "\(done)")
        // The promotion rewrites the edited file: both edits are there.
        #expect(try r.fileText() == edited.replacingOccurrences(of: "{ blue: 100, green: 0 }   # cutover",
                                                                with: "{ blue: 0, green: 100 }   # cutover"))
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
    }

    @Test func aReloadThatChangesTheSplitAbortsTheRollout() async throws {
        let r = try await RolloutBed.start()
        defer { r.tearDown() }
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }
        #expect(try await r.cutover(["rollout", "start", "app", "green"]).status == 0)
        try await r.waitForRollout("step 1 runs") { $0.state == "progressing" && $0.step == 1 }

        let manual = r.text(blue: 80, green: 20)
        try r.write(manual)
        let reload = try await r.cutover(["reload"])
        #expect(reload.status == 0, "\(reload)")
        let doc = try await r.waitForRollout("the reload aborts the rollout", timeout: .seconds(3)) { $0.state == "aborted" }
        #expect(doc.reason.contains("split"), "the reason says the split changed: \(doc.reason)")
        #expect(doc.events.last == "aborted", "\(doc.events)")
        // The operator's split is in force, and the file is theirs.
        #expect(try await r.effectiveWeights() == ["blue": 80, "green": 20])
        #expect(try r.fileText() == manual)
        try await r.holds("the abort", for: .milliseconds(800)) { $0.state == "aborted" }
        let m = try await r.metrics()
        #expect(m.value("cutover_rollouts_total", ["route": "app", "result": "aborted"]) == 1, "\(m.text)")

        // Started again on the operator's split, then a reload that changes the policy (not the
        // split) aborts it too.
        try r.write(r.text)
        #expect(try await r.cutover(["reload"]).status == 0)
        #expect(try await r.cutover(["rollout", "start", "app", "green"]).status == 0)
        try await r.waitForRollout("the second rollout runs step 1") { $0.state == "progressing" && $0.step == 1 }
        try r.write(r.text.replacingOccurrences(of: "  step_duration: 1s\n", with: "  step_duration: 2s\n"))
        #expect(try await r.cutover(["reload"]).status == 0)
        let policy = try await r.waitForRollout("a policy change aborts the rollout", timeout: .seconds(3)) { $0.state == "aborted" }
        #expect(policy.reason.contains("polic") || policy.reason.contains("rollout"), "the reason says the policy changed: \(policy.reason)")
        #expect(try await r.answers(20) == Array(repeating: "blue", count: 20))
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
    }

    @Test func removingTheCanaryPoolFromTheRouteAbortsTheRollout() async throws {
        let r = try await RolloutBed.start()
        defer { r.tearDown() }
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }
        #expect(try await r.cutover(["rollout", "start", "app", "green"]).status == 0)
        try await r.waitForRollout("step 1 runs") { $0.state == "progressing" && $0.step == 1 }

        try r.write(r.text.replacingOccurrences(of: "{ blue: 100, green: 0 }   # cutover", with: "{ blue: 100 }   # cutover"))
        let reload = try await r.cutover(["reload"])
        #expect(reload.status == 0, "\(reload)")
        let doc = try await r.waitForRollout("the reload aborts the rollout", timeout: .seconds(3)) { $0.state == "aborted" }
        #expect(doc.reason.contains("green"), "the reason names the pool: \(doc.reason)")
        #expect(try await r.answers(20) == Array(repeating: "blue", count: 20))
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
    }

    @Test func aRestartedProxyResumesTheRolloutAtTheStepItWasIn() async throws {
        var policy = RolloutYAML()
        policy.stepDuration = "3s"   // step 2 lasts while the proxy restarts
        let r = try await RolloutBed.start(policy, stateDir: true)
        defer { r.tearDown() }
        let stateDir = try #require(r.stateDir)
        var load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }
        #expect(try await r.cutover(["rollout", "start", "app", "green"]).status == 0)
        // Step 2 with a second of its three judged: then the proxy stops.
        let before = try await r.waitForRollout("step 2 (50 %) has a second judged", timeout: .seconds(15)) {
            $0.step == 2 && ($0.stepSeconds ?? 0) >= 1
        }
        #expect(before.state == "progressing" && before.canaryWeight == 50, "\(before)")
        _ = try await load.stop()

        let exit = try await r.restart()
        #expect(exit == 0, "the proxy exits 0 on SIGTERM")
        let stateFile = stateDir.appendingPathComponent("rollouts.json")
        let saved = try String(contentsOf: stateFile, encoding: .utf8)
        #expect(saved.contains("green"), "\(saved)")
        #expect(!FileManager.default.fileExists(atPath: r.file.deletingLastPathComponent().appendingPathComponent("rollouts.json").path),
                "the state goes to state_dir, not next to the config file")

        let resumed = try await r.rollout()
        #expect(resumed.step == 2 && resumed.canaryWeight == 50, "resumed at step 2: \(resumed)")
        #expect(["warmup", "progressing"].contains(resumed.state ?? ""), "\(resumed)")
        // The state is saved at every look (250 ms): once the warm-up after the restart is over,
        // the step's judged time is what it was, to within one look.
        let warm = try await r.waitForRollout("the resumed rollout's warm-up ends", timeout: .seconds(5)) { $0.state == "progressing" }
        #expect(warm.step == 2 && warm.canaryWeight == 50, "\(warm)")
        #expect((warm.stepSeconds ?? 0) >= (before.stepSeconds ?? 0) - 0.3,
                "judged time before the restart \(before.stepSeconds ?? -1) s, after: \(warm)")
        #expect(resumed.canary == "green" && resumed.baseline == "blue", "\(resumed)")
        #expect(resumed.startedAt == before.startedAt, "the rollout's start survives the restart: \(resumed)")
        #expect(Array(resumed.events.prefix(before.events.count)) == before.events,
                "the history before the restart is kept: \(before.events) then \(resumed.events)")
        #expect(try r.fileText() == r.text, "the file is only rewritten at the end")
        // The data plane runs the resumed share, not the file's green 0.
        let answers = try await r.answers(100)
        let green = answers.filter { $0 == "green" }.count
        #expect(green >= 30 && green <= 70, "green answered \(green) of 100 at step 2 after the restart")

        load = try r.load()
        let done = try await r.waitForRollout("the resumed rollout is promoted", timeout: .seconds(20)) { $0.state == "promoted" }
        #expect(done.canaryWeight == 100, "\(done)")
        #expect(try r.fileText() == r.text(blue: 0, green: 100))
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
    }

    @Test func aRolloutPausedByTheOperatorStaysPausedAcrossARestart() async throws {
        let r = try await RolloutBed.start()
        defer { r.tearDown() }
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }
        #expect(try await r.cutover(["rollout", "start", "app", "green"]).status == 0)
        try await r.waitForRollout("step 1 runs") { $0.state == "progressing" && $0.step == 1 }
        #expect(try await r.cutover(["rollout", "pause", "app"]).status == 0)
        _ = try await load.stop()

        #expect(try await r.restart() == 0)
        let after = try await r.rollout()
        #expect(after.state == "paused" && after.step == 1 && after.canaryWeight == 10, "\(after)")
        let answers = try await r.answers(50)
        #expect((1...10).contains(answers.filter { $0 == "green" }.count), "the paused share (10 %) is in force: \(answers)")
        let resume = try await r.cutover(["rollout", "resume", "app"])
        #expect(resume.status == 0, "\(resume)")
        let resumed = try await r.rollout()
        #expect(["warmup", "progressing"].contains(resumed.state ?? "") && resumed.step == 1, "\(resumed)")
    }
}

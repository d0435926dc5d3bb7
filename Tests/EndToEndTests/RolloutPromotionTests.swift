import Foundation
import Testing

/// The automated canary's success paths, driven as an operator would: `cutover rollout start app
/// green --wait` under load promotes a healthy canary step by step (the file rewritten, comments
/// kept), a gate holds the canary's share until `cutover rollout promote`, `promote --now` skips
/// the remaining steps, and the `notify:` webhook hears every transition in order.
@Suite(.serialized) struct RolloutPromotionTests {
    /// The canary's share of the history, in order of the transitions.
    static func weights(_ doc: RolloutDoc) -> [Int] {
        doc.history.compactMap { ($0["canary_weight"] as? NSNumber)?.intValue }
    }

    @Test func aHealthyCanaryIsPromotedOnScheduleWithTheFileRewrittenAndNoRequestLost() async throws {
        let r = try await RolloutBed.start(workers: 2)
        defer { r.tearDown() }
        let idle = try await r.rollout()
        #expect(idle.state == "idle", "\(idle)")
        #expect(idle.canaryWeight == 0 || idle.canaryWeight == nil, "\(idle)")

        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }

        let asked = monotonicNanoseconds()
        let result = try await r.cutover(["rollout", "start", "app", "green", "--wait"])
        let returned = monotonicNanoseconds()
        let took = rolloutMilliseconds(asked, returned)
        print("rollout figures: a healthy canary (steps 10/50/100 %, step_duration 1 s, interval 250 ms) was promoted \(took) ms after `rollout start --wait`")

        #expect(result.status == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count >= 3, "expected a progress line per transition: \(result.stdout)")
        #expect(!result.stdout.contains("\u{1B}"), "stdout is not a terminal, the lines must be plain: \(result.stdout.debugDescription)")
        #expect(lines.last?.contains("promoted") == true, "\(result.stdout)")
        #expect(took >= 2000, "two steps of at least 1 s each were judged in \(took) ms")
        #expect(took < 15000, "promotion took \(took) ms")

        // The file: only the split changed, comments and layout kept.
        #expect(try r.fileText() == r.text(blue: 0, green: 100))

        let doc = try await r.rollout()
        #expect(doc.state == "promoted", "\(doc)")
        #expect(doc.route == "app" && doc.canary == "green" && doc.baseline == "blue", "\(doc)")
        #expect(doc.steps == [10, 50, 100], "\(doc)")
        #expect(doc.step == 3, "\(doc)")
        #expect(doc.canaryWeight == 100, "\(doc)")
        #expect(doc.events.first == "started", "\(doc.events)")
        #expect(doc.events.last == "promoted", "\(doc.events)")
        #expect(doc.events.contains("step"), "\(doc.events)")
        let weights = Self.weights(doc)
        #expect(weights == weights.sorted() && weights.contains(10) && weights.contains(50) && weights.last == 100,
                "the canary's share through the history: \(weights)")
        #expect(doc.canarySample.requests >= 20, "\(doc)")

        // /status, the metrics, and the command line say the same.
        let rollouts = try await r.status()["rollouts"] as? [[String: Any]] ?? []
        #expect(rollouts.first { $0["route"] as? String == "app" }?["state"] as? String == "promoted", "\(rollouts)")
        #expect(try await r.effectiveWeights() == ["blue": 0, "green": 100])
        let m = try await r.metrics()
        #expect(m.value("cutover_rollout_state", ["route": "app", "state": "promoted"]) == 1, "\(m.text)")
        #expect(m.sum("cutover_rollout_state", ["route": "app"]) == 1, "exactly one state is current: \(m.text)")
        #expect(m.value("cutover_rollout_step", ["route": "app"]) == 3)
        #expect(m.value("cutover_rollout_canary_weight", ["route": "app"]) == 100)
        #expect(m.value("cutover_rollouts_total", ["route": "app", "result": "promoted"]) == 1)
        #expect(m.sum("cutover_rollouts_total", ["route": "app", "result": "rolled_back"]) == 0)

        let plain = try await r.cutover(["rollout", "status", "app"])
        #expect(plain.status == 0 && plain.stdout.contains("promoted"), "\(plain)")
        let json = try await r.cutover(["rollout", "status", "app", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(json.status == 0 && object?["state"] as? String == "promoted", "\(json)")
        let all = try await r.cutover(["rollout", "status"])
        #expect(all.status == 0 && all.stdout.contains("app"), "\(all)")
        let table = try await r.cutover(["status"])
        #expect(table.status == 0 && table.stdout.lowercased().contains("rollout"), "cutover status shows no rollout: \(table.stdout)")

        // The state file sits next to the config file (no state_dir).
        let stateFile = r.file.deletingLastPathComponent().appendingPathComponent("rollouts.json")
        let state = try? JSONSerialization.jsonObject(with: Data(contentsOf: stateFile))
        #expect(state != nil, "\(stateFile.path) is missing or not JSON")

        // Every request after the promotion goes to green; none failed during the rollout.
        #expect(try await r.answers(20) == Array(repeating: "green", count: 20))
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        let late = report.sent(after: returned)
        #expect(!late.isEmpty && late.allSatisfy { $0.backend == "green" }, "\(late.filter { $0.backend != "green" }.prefix(5))")
        let during = report.records.filter { $0.sent > asked && $0.done < returned }
        print("rollout figures: \(during.count) requests during the rollout, \(during.filter { $0.backend == "green" }.count) to green, "
              + "\(report.failures.count) failed; canary sample \(doc.canarySample), baseline sample \(doc.baselineSample)")
    }

    @Test func aGateHoldsTheShareUntilPromoteOpensIt() async throws {
        var policy = RolloutYAML()
        policy.gates = [50]
        let r = try await RolloutBed.start(policy)
        defer { r.tearDown() }
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }

        let started = try await r.cutover(["rollout", "start", "app", "green", "--baseline", "blue"])
        #expect(started.status == 0, "\(started)")
        let gate = try await r.waitForRollout("the rollout waits at the gate before 50 %") { $0.state == "waiting_gate" }
        #expect(gate.canaryWeight == 10, "the share stays at the previous step: \(gate)")
        #expect(gate.step == 1, "step 2 has not begun: \(gate)")

        // It holds (well past the 1 s step), and the split really is 10 %: of the next 400
        // requests, green takes about a tenth.
        let before = try await (r.blue.counts().heads, r.green.counts().heads)
        try await r.holds("the gate", for: .milliseconds(1500)) { $0.state == "waiting_gate" && $0.canaryWeight == 10 }
        try await waitUntil("400 more requests") {
            let b = try await r.blue.counts().heads, g = try await r.green.counts().heads
            return b + g - before.0 - before.1 >= 400
        }
        let after = try await (r.blue.counts().heads, r.green.counts().heads)
        let share = Double(after.1 - before.1) / Double(after.0 + after.1 - before.0 - before.1)
        #expect(share > 0.05 && share < 0.15, "green took \(share) of the requests at the gate")
        #expect(try r.fileText() == r.text, "the file changes only at the end")

        let promote = try await r.cutover(["rollout", "promote", "app"])
        #expect(promote.status == 0, "\(promote)")
        let second = try await r.waitForRollout("step 2 (50 %) runs", timeout: .seconds(3)) { $0.canaryWeight == 50 }
        #expect(second.step == 2 && (second.state == "progressing" || second.state == "promoted"), "\(second)")
        let done = try await r.waitForRollout("the rollout is promoted after step 2") { $0.state == "promoted" }
        #expect(done.canaryWeight == 100, "\(done)")
        #expect(done.events.contains("waiting_gate"), "\(done.events)")
        #expect(try r.fileText() == r.text(blue: 0, green: 100))

        // Nothing is left to promote.
        let again = try await r.adminJSON("POST", "/rollouts/app/promote")
        #expect(again.status == 409 && again.json["ok"] as? Bool == false, "\(again)")
        let cli = try await r.cutover(["rollout", "promote", "app"])
        #expect(cli.status == 1 && !cli.stderr.isEmpty, "\(cli)")

        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
    }

    @Test func promoteNowSkipsTheRemainingSteps() async throws {
        var policy = RolloutYAML()
        policy.stepDuration = "5s"   // long: only `--now` can promote within the second this test allows
        let r = try await RolloutBed.start(policy)
        defer { r.tearDown() }
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }

        let started = try await r.cutover(["rollout", "start", "app", "green"])
        #expect(started.status == 0, "\(started)")
        try await r.waitForRollout("step 1 runs") { $0.state == "progressing" && $0.canaryWeight == 10 }
        let asked = monotonicNanoseconds()
        let now = try await r.cutover(["rollout", "promote", "app", "--now"])
        #expect(now.status == 0, "\(now)")
        let done = try await r.waitForRollout("promote --now promotes", timeout: .seconds(2)) { $0.state == "promoted" }
        print("rollout figures: promote --now took \(rolloutMilliseconds(asked, monotonicNanoseconds())) ms to show promoted")
        #expect(done.canaryWeight == 100 && done.step == 3, "\(done)")
        #expect(try r.fileText() == r.text(blue: 0, green: 100))
        #expect(try await r.answers(10) == Array(repeating: "green", count: 10))
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
    }

    @Test func theWebhookHearsEveryTransitionInOrder() async throws {
        // The receiver answers the first POST with 500: the sender tries it again and the
        // later transitions wait behind it, in order.
        let r = try await RolloutBed.start(webhook: true, webhookFailsFirst: 1)
        defer { r.tearDown() }
        let hook = try #require(r.webhook)
        let load = try r.load()
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await r.blue.counts().heads >= 50 }

        // A healthy green is promoted.
        let promoted = try await r.cutover(["rollout", "start", "app", "green", "--wait"])
        #expect(promoted.status == 0, "\(promoted)")
        let first = try await r.rollout()
        try await waitUntil("the webhook hears the promotion") { try await hook.events().contains { $0["event"] as? String == "promoted" } }
        let heard = try await hook.events()
        let names = heard.map { $0["event"] as? String ?? "?" }
        #expect(names.first == "started" && names.last == "promoted" && names.contains("step"), "\(names)")
        #expect(Set(names).isSubset(of: ["started", "step", "promoted"]), "\(names)")
        #expect(names == first.events, "the webhook heard \(names), the history says \(first.events)")
        for body in heard {
            #expect(body["route"] as? String == "app" && body["canary"] as? String == "green"
                    && body["baseline"] as? String == "blue", "\(body)")
            #expect(body["state"] is String && body["step"] is NSNumber && body["canary_weight"] is NSNumber
                    && body["reason"] is String && body["at"] != nil, "a field is missing: \(body)")
        }
        let weights = heard.compactMap { ($0["canary_weight"] as? NSNumber)?.intValue }
        #expect(weights == weights.sorted() && weights.last == 100, "\(weights)")
        #expect(heard.last?["state"] as? String == "promoted")
        let attempts = try await hook.attempts()
        #expect(attempts.failed == 1 && attempts.posts == heard.count + 1, "the failed POST was sent again: \(attempts)")

        // Then blue, now the canary against green (the pool carrying the traffic, the default
        // baseline), fails every tenth request and is rolled back.
        try await r.blue.fault(errorRate: 0.1)
        let failed = try await r.cutover(["rollout", "start", "app", "blue", "--wait"])
        #expect(failed.status == 1, "\(failed)")
        try await waitUntil("the webhook hears the rollback") { try await hook.events().contains { $0["event"] as? String == "rolled_back" } }
        let second = Array(try await hook.events().dropFirst(heard.count))
        let secondNames = second.map { $0["event"] as? String ?? "?" }
        #expect(secondNames.first == "started" && secondNames.last == "rolled_back", "\(secondNames)")
        #expect(second.allSatisfy { $0["canary"] as? String == "blue" && $0["baseline"] as? String == "green" }, "\(second)")
        #expect(second.last?["state"] as? String == "failed", "\(second.last ?? [:])")
        #expect(((second.last?["reason"] as? String) ?? "").contains("error rate"), "\(second.last ?? [:])")
        #expect(try r.fileText() == r.text(blue: 0, green: 100))
        let doc = try await r.rollout()
        #expect(secondNames == doc.events, "the webhook heard \(secondNames), the history says \(doc.events)")
        _ = try await load.stop()
    }
}

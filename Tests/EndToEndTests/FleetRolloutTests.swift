import Foundation
import Glibc
import Testing

/// Rollouts across a fleet of three instances and a real etcd: one instance leads (the holder of
/// `PREFIX/rollouts/app/leader`), judges the sum of every instance's counts, and puts each step's
/// split in force everywhere as a fleet generation; when it dies another takes over from the
/// state in etcd.
@Suite(.serialized) struct FleetRolloutTests {
    /// The rollout of route app as the leader wrote it to etcd (nil: none).
    static func state(_ fleet: FleetBed) async throws -> [String: Any]? {
        let out = try await fleet.etcd.ctl(["get", "\(fleet.prefix)/rollouts/app/state", "--print-value-only"])
        let text = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard out.status == 0, !text.isEmpty else { return nil }
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    static func machineState(_ fleet: FleetBed) async throws -> String? {
        (try await state(fleet)?["machine"] as? [String: Any])?["state"] as? String
    }

    static func leader(_ fleet: FleetBed) async throws -> String {
        let out = try await fleet.etcd.ctl(["get", "\(fleet.prefix)/rollouts/app/leader", "--print-value-only"])
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `/rollouts/app` of instance `i`.
    static func rollout(_ fleet: FleetBed, _ i: Int) async throws -> [String: Any] {
        let answer = try await fleet.bed.curl(["-s", "http://127.0.0.1:\(fleet.instances[i].adminPort)/rollouts/app"])
        return try #require(try JSONSerialization.jsonObject(with: answer.stdout) as? [String: Any], "\(answer.text)")
    }

    /// The generation in force and its document's text.
    static func active(_ fleet: FleetBed) async throws -> (generation: Int, document: String) {
        let active = try await fleet.etcd.ctl(["get", "\(fleet.prefix)/active", "--print-value-only"])
        let generation = try #require(Int(active.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(active)")
        let document = try await fleet.etcd.ctl(["get", "\(fleet.prefix)/desired/\(generation)", "--print-value-only"])
        return (generation, document.stdout)
    }

    @Test func aFaultyCanaryJudgedOnTheFleetsTrafficIsRolledBackOnEveryInstance() async throws {
        let fleet = try await FleetBed.start(rollout: RolloutYAML(steps: [20, 50, 100], stepDuration: "5s", latency: nil))
        defer { fleet.bed.tearDown() }
        try await fleet.green.fault(errorRate: 0.5)
        // Traffic through edge-2 and edge-3 only: edge-1, where the rollout starts and which leads
        // it, sees none of the canary's answers itself, so its verdict can only come from theirs.
        let loads = try [1, 2].map { try LoadGenerator.start(port: fleet.instances[$0].port, limit: .seconds(60), in: fleet.bed.directory) }
        defer { for load in loads { load.kill() } }

        let start = try await fleet.cutover(["rollout", "start", "app", "green"])
        #expect(start.status == 0, "\(start)")
        #expect(try await Self.leader(fleet) == "edge-1")
        // A second start anywhere else is refused: one rollout, one leader.
        let again = try await fleet.cutover(["rollout", "start", "app", "green"], file: fleet.instances[2].configURL)
        #expect(again.status == 1 && again.stderr.contains("edge-1"), "\(again)")
        // The other instances show the rollout too, as its leader last wrote it to etcd.
        try await waitUntil("edge-3 shows the rollout edge-1 leads", timeout: .seconds(10), every: .milliseconds(100)) {
            let shown = try await Self.rollout(fleet, 2)
            return shown["leader"] as? String == "edge-1" && shown["canary"] as? String == "green"
                && ["warmup", "progressing", "failed"].contains(shown["state"] as? String ?? "")
        }
        let followed = try await fleet.cutover(["rollout", "status", "app"], file: fleet.instances[2].configURL)
        #expect(followed.status == 0 && followed.stdout.contains("led by edge-1"), "\(followed)")

        try await waitUntil("the fleet rollout is rolled back", timeout: .seconds(40), every: .milliseconds(100)) {
            try await Self.machineState(fleet) == "failed"
        }
        #expect(try await Self.leader(fleet).isEmpty, "the leader key is released when the rollout ends")
        let (generation, document) = try await Self.active(fleet)
        #expect(document.contains(#""pools":{"blue":100,"green":0}"#), "\(document)")
        #expect(document.contains("cutover rollout app green at 0 %"), "\(document)")
        for i in 0..<3 {
            try await fleet.waitForGeneration(i, generation)
            #expect(try await fleet.answers(i) == ["blue", "blue", "blue", "blue"], "\(fleet.instances[i].name)")
        }
        try await waitUntil("edge-2 shows the rollback", timeout: .seconds(10), every: .milliseconds(100)) {
            let shown = try await Self.rollout(fleet, 1)
            return shown["state"] as? String == "failed" && shown["leader"] as? String == "edge-1"
                && ((shown["history"] as? [[String: Any]])?.contains { $0["event"] as? String == "rolled_back" } ?? false)
        }
        // The leader judged counts it did not serve: the canary's errors came from edge-2 and edge-3.
        let rollout = try await fleet.bed.curl(["-s", "http://127.0.0.1:\(fleet.instances[0].adminPort)/rollouts/app"])
        let json = try #require(try JSONSerialization.jsonObject(with: rollout.stdout) as? [String: Any], "\(rollout.text)")
        #expect(json["state"] as? String == "failed", "\(rollout.text)")
        let verdicts = (json["verdicts"] as? [String]) ?? []
        #expect(verdicts.contains { $0.contains("fail") }, "\(rollout.text)")
    }

    @Test func theLeaderKilledMidRolloutHandsOver() async throws {
        let fleet = try await FleetBed.start(rollout: RolloutYAML(steps: [20, 50, 100], stepDuration: "2s", latency: nil))
        defer { fleet.bed.tearDown() }
        let loads = try [1, 2].map { try LoadGenerator.start(port: fleet.instances[$0].port, limit: .seconds(90), in: fleet.bed.directory) }
        defer { for load in loads { load.kill() } }

        let start = try await fleet.cutover(["rollout", "start", "app", "green"])
        #expect(start.status == 0, "\(start)")
        try await waitUntil("edge-1 runs the first step", timeout: .seconds(20), every: .milliseconds(50)) {
            try await Self.machineState(fleet) == "progressing"
        }
        #expect(try await Self.leader(fleet) == "edge-1")
        fleet.instances[0].child?.kill()

        // Its lease ends (6 s at most); another instance takes the key and resumes from etcd.
        try await waitUntil("edge-2 or edge-3 leads", timeout: .seconds(20), every: .milliseconds(100)) {
            ["edge-2", "edge-3"].contains(try await Self.leader(fleet))
        }
        try await waitUntil("the rollout finishes", timeout: .seconds(40), every: .milliseconds(100)) {
            ["promoted", "failed"].contains(try await Self.machineState(fleet) ?? "")
        }
        let state = try #require(try await Self.state(fleet))
        #expect((state["machine"] as? [String: Any])?["state"] as? String == "promoted", "\(state)")
        #expect(["edge-2", "edge-3"].contains(state["leader"] as? String ?? ""), "\(state)")
        let history = (state["history"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(history.contains { $0.contains("taken over by") && $0.contains("from edge-1") }, "\(history)")
        let (generation, document) = try await Self.active(fleet)
        #expect(document.contains(#""pools":{"blue":0,"green":100}"#), "\(document)")
        for i in 1..<3 {
            try await fleet.waitForGeneration(i, generation)
            #expect(try await fleet.answers(i) == ["green", "green", "green", "green"], "\(fleet.instances[i].name)")
        }
    }

    @Test func anOperatorsSwitchDuringAFleetRolloutAbortsIt() async throws {
        let fleet = try await FleetBed.start(rollout: RolloutYAML(steps: [20, 50, 100], stepDuration: "60s", latency: nil))
        defer { fleet.bed.tearDown() }
        let start = try await fleet.cutover(["rollout", "start", "app", "green"], file: fleet.instances[1].configURL)
        #expect(start.status == 0, "\(start)")
        #expect(try await Self.leader(fleet) == "edge-2")
        // Commands on an instance that does not lead are refused, naming the leader.
        let pause = try await fleet.cutover(["rollout", "pause", "app"])
        #expect(pause.status == 1 && pause.stderr.contains("edge-2"), "\(pause)")
        try await waitUntil("the first step's split is in force everywhere", timeout: .seconds(20), every: .milliseconds(50)) {
            try await Self.active(fleet).document.contains(#""pools":{"blue":80,"green":20}"#)
        }

        let switched = try await fleet.cutover(["switch", "app", "blue", "--no-smoke-test"], file: fleet.instances[2].configURL)
        #expect(switched.status == 0, "\(switched)")
        try await waitUntil("the leader aborts the rollout", timeout: .seconds(20), every: .milliseconds(50)) {
            try await Self.machineState(fleet) == "aborted"
        }
        #expect(try await Self.leader(fleet).isEmpty)
        let (generation, document) = try await Self.active(fleet)
        #expect(document.contains("cutover switch app blue"), "the operator's split stands: \(document)")
        for i in 0..<3 {
            try await fleet.waitForGeneration(i, generation)
            #expect(try await fleet.answers(i) == ["blue", "blue", "blue", "blue"], "\(fleet.instances[i].name)")
        }
    }
}

import Foundation
import Glibc
import Testing

/// Binary upgrade, item 2 of the tests: the runtime state goes to the new process. A backend
/// that is down (stopped with SIGSTOP: the kernel still accepts connections for it, so anything
/// routed there would be counted once it runs again) stays `unhealthy` — not `checking` — and
/// gets nothing; healthy backends take requests at once (no 503 while `rise` checks would pass);
/// a backend half-way through its slow start goes on ramping from where it was; a `state: drain`
/// backend keeps its deadline.
@Suite struct UpgradeStateTests {
    @Test func healthSlowStartAndDrainCarryOverTheUpgrade() async throws {
        let bed = try TestBed()
        let a = try await bed.backend("a")
        let down = try await bed.backend("down")
        let ramping = try await bed.backend("ramping")
        let drained = try await bed.backend("drained")
        let all = [a, down, ramping, drained]
        let config = ProxyConfig.http(port: try Ports.free(), split: [("blue", 100)],
                                      pools: [.init(name: "blue", backends: all.map { ($0.port, 100) })])
            .withAdmin(port: try Ports.free())
            .adding(pool: "blue", lines: BackendHealthTests.fastCheck + ["slow_start: 6s", "deregistration_delay: 20s"])
        let u = try await UpgradeBed.start(config, in: bed)
        defer {
            kill(down.child.pid, SIGCONT)
            u.tearDown()
        }
        func state(_ b: Backend) async throws -> String? { try await u.backend(b.port)?["state"] as? String }

        try await waitUntil("every backend is healthy") {
            for b in all {
                if try await state(b) != "healthy" { return false }
            }
            return true
        }
        let downHeads = try await down.counts().heads
        kill(down.child.pid, SIGSTOP)
        let drain = try await u.admin("POST", "/backends/blue/drain?address=127.0.0.1:\(drained.port)")
        #expect(drain.status == 200, "\(drain.bodyText)")
        try await waitUntil("/status shows down unhealthy and drained draining", timeout: .seconds(5)) {
            let states = [try await state(down), try await state(drained)]
            return states == ["unhealthy", "draining"]
        }
        let drainedHeads = try await drained.counts().heads

        let load = try LoadGenerator.start(port: u.port, keepAlive: 2, fresh: 1, limit: .seconds(30), in: bed.directory)
        defer { load.kill() }
        try await waitUntil("ramping is well into its slow start", timeout: .seconds(6)) {
            try await u.backend(ramping.port)?["effective_weight"] as? Int ?? 0 >= 40
        }

        let read = monotonicNanoseconds()
        let before = try await u.status()
        let upgrade = try await u.upgrade()
        #expect(upgrade.status == 0, "\(upgrade)")
        let after = try await u.status()
        let elapsed = Double(monotonicNanoseconds() - read) / 1e9
        let pid = try await u.servingPid()
        #expect(pid != u.first.pid)
        // The config generation goes on (2: the drain was a reload).
        #expect(after["generation"] as? Int == 2 && before["generation"] as? Int == 2,
                "generation \(before["generation"] ?? "-") before, \(after["generation"] ?? "-") after")

        func entry(_ status: [String: Any], _ b: Backend) -> [String: Any] {
            let pools = status["pools"] as? [[String: Any]] ?? []
            let backends = pools.first?["backends"] as? [[String: Any]] ?? []
            return backends.first { $0["address"] as? String == "127.0.0.1:\(b.port)" } ?? [:]
        }
        func double(_ value: Any?) -> Double { (value as? Double) ?? (value as? Int).map(Double.init) ?? -1 }
        let (downBefore, downAfter) = (entry(before, down), entry(after, down))
        let (rampBefore, rampAfter) = (entry(before, ramping), entry(after, ramping))
        let (drainBefore, drainAfter) = (entry(before, drained), entry(after, drained))
        print("""
            upgrade state: \(String(format: "%.2f", elapsed)) s between the two reads; down \(downBefore["state"] ?? "-") -> \(downAfter["state"] ?? "-"); \
            ramping weight \(rampBefore["effective_weight"] ?? "-") -> \(rampAfter["effective_weight"] ?? "-"), \
            slow start left \(rampBefore["slow_start_seconds_left"] ?? "-") -> \(rampAfter["slow_start_seconds_left"] ?? "-") s; \
            drained \(drainBefore["state"] ?? "-"), \(drainBefore["drain_seconds_left"] ?? "-") -> \(drainAfter["state"] ?? "-"), \
            \(drainAfter["drain_seconds_left"] ?? "-") s left
            """)

        // Down stays out: unhealthy at once, not `checking` as a backend seen for the first time.
        #expect(downAfter["state"] as? String == "unhealthy", "\(downAfter)")
        #expect(downAfter["health"] as? String == "unhealthy", "\(downAfter)")
        #expect(downAfter["effective_weight"] as? Int == 0, "\(downAfter)")
        // The ramp goes on: the weight is not back at the 10 % floor, and the time left went on
        // counting down instead of starting again at 6 s.
        let weightBefore = rampBefore["effective_weight"] as? Int ?? -1
        let weightAfter = rampAfter["effective_weight"] as? Int ?? -1
        #expect(rampAfter["state"] as? String == "healthy", "\(rampAfter)")
        #expect(weightBefore >= 40 && weightAfter >= weightBefore, "ramping's effective weight \(weightBefore) before, \(weightAfter) after")
        let leftBefore = double(rampBefore["slow_start_seconds_left"])
        let leftAfter = double(rampAfter["slow_start_seconds_left"])
        #expect(leftAfter <= leftBefore && leftAfter >= leftBefore - elapsed - 0.3,
                "slow start left \(leftBefore) s before, \(leftAfter) s after (\(elapsed) s apart)")
        // The drain keeps its deadline.
        #expect(drainAfter["state"] as? String == "draining" && drainAfter["admin_state"] as? String == "drain", "\(drainAfter)")
        let drainLeftBefore = double(drainBefore["drain_seconds_left"])
        let drainLeftAfter = double(drainAfter["drain_seconds_left"])
        #expect(drainLeftBefore > 15 && drainLeftAfter <= drainLeftBefore && drainLeftAfter >= drainLeftBefore - elapsed - 0.3,
                "drain left \(drainLeftBefore) s before, \(drainLeftAfter) s after (\(elapsed) s apart)")

        // The new process serves the load at once and only from the backends in rotation.
        let heads = try await a.counts().heads + ramping.counts().heads
        try await waitUntil("the new process serves 200 more requests") {
            try await a.counts().heads + ramping.counts().heads >= heads + 200
        }
        let report = try await load.stop()
        #expect(report.failures.isEmpty, "\(report.failureSummary)")
        #expect(Set(report.backends.keys).isSubset(of: ["a", "ramping"]), "\(report.backends)")
        print("upgrade state: \(report.records.count) requests, \(report.failures.count) failed, per backend \(report.backends)")

        // Nothing reached the stopped backend, even queued in its listen backlog; nothing new
        // reached the drained one.
        kill(down.child.pid, SIGCONT)
        #expect(try await down.counts().heads == downHeads)
        #expect(try await drained.counts().heads == drainedHeads)
        // Its checks pass again: the new process's checker works on the state it was handed.
        try await waitUntil("down is healthy again in the new process", timeout: .seconds(5)) { try await state(down) == "healthy" }
    }
}

import Foundation
import Glibc
import Testing

/// A fleet when things fail: etcd killed (traffic goes on, a switch fails clearly, the instances
/// catch up once it is back), an instance stopped during a switch (it catches up when it starts,
/// also without etcd, from its cache), and a compaction that forces a re-read.
@Suite(.serialized) struct FleetFailureTests {
    @Test func etcdKilledTrafficContinuesAndInstancesCatchUp() async throws {
        let fleet = try await FleetBed.start()
        defer { fleet.bed.tearDown() }
        #expect(try await fleet.cutover(["switch", "app", "green", "--no-smoke-test"]).status == 0)

        fleet.etcd.kill()
        try await fleet.waitForConnected(false)
        for i in 0..<3 {
            // The data plane and /ready never ask etcd.
            #expect(try await fleet.answers(i, count: 10) == Array(repeating: "green", count: 10))
            let ready = try await fleet.bed.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(fleet.instances[i].adminPort)/ready"])
            #expect(ready.text == "200")
            let state = try await fleet.fleet(i)
            #expect(state["applied_generation"] as? Int == 1)
            #expect(state["endpoint"] is NSNull)
            #expect((state["last_error"] as? String)?.contains("127.0.0.1:\(fleet.etcd.clientPort)") == true, "\(state)")
            let metrics = try await fleet.bed.curl(["-s", "http://127.0.0.1:\(fleet.instances[i].adminPort)/metrics"])
            #expect(metrics.text.contains("cutover_fleet_connected 0"))
            #expect(metrics.text.contains("cutover_fleet_generation 1"))
        }
        let failed = try await fleet.cutover(["switch", "app", "blue", "--no-smoke-test"])
        #expect(failed.status == 2, "\(failed)")
        #expect(failed.stderr.contains("etcd unreachable"), "\(failed.stderr)")
        #expect(failed.stderr.contains("nothing was written; every instance keeps serving what it has"), "\(failed.stderr)")
        let status = try await fleet.cutover(["fleet", "status"])
        #expect(status.status == 2)

        // etcd back: every instance reconnects (with its backoff), and a switch converges again.
        _ = try await fleet.etcd.start()
        try await fleet.waitForConnected(true)
        let run = try await fleet.cutover(["switch", "app", "blue", "--no-smoke-test"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.contains("fleet generation 2 applied by 3 of 3"), "\(run.stdout)")
        for i in 0..<3 { #expect(try await fleet.answers(i, count: 2) == ["blue", "blue"]) }
    }

    @Test func aStoppedInstanceCatchesUpWhenItStarts() async throws {
        let fleet = try await FleetBed.start()
        defer { fleet.bed.tearDown() }
        #expect(try await fleet.cutover(["switch", "app", "green", "--no-smoke-test"]).status == 0)

        // Stopped cleanly, it leaves the list at once: the switch waits for the two that run.
        try await fleet.stopInstance(2)
        try await fleet.waitForReports(count: 2)
        let run = try await fleet.cutover(["switch", "app", "blue", "--no-smoke-test"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.contains("fleet generation 2 applied by 2 of 2 instance(s) (edge-1, edge-2)"), "\(run.stdout)")

        // Started again: from its cache (generation 1), then generation 2 from etcd.
        try await fleet.startInstance(2)
        try await fleet.waitForGeneration(2, 2)
        #expect(try await fleet.answers(2, count: 2) == ["blue", "blue"])
        #expect(fleet.instances[2].child?.stderrText.contains("fleet: starting from cached generation 1") == true)
        try await fleet.waitForReports(count: 3)

        // Without etcd, a restarted instance serves the generation it applied last (cached).
        fleet.etcd.kill()
        try await fleet.stopInstance(2)
        try await fleet.startInstance(2)
        #expect(try await fleet.answers(2, count: 2) == ["blue", "blue"])
        let state = try await fleet.fleet(2)
        #expect(state["applied_generation"] as? Int == 2)
        #expect(state["connected"] as? Bool == false)
        _ = try await fleet.etcd.start()
        try await fleet.waitForConnected(true, [2])
        try await fleet.waitForReports(count: 3)
    }

    @Test func aCompactionForcesAReread() async throws {
        let fleet = try await FleetBed.start()
        defer { fleet.bed.tearDown() }
        #expect(try await fleet.cutover(["switch", "app", "green", "--no-smoke-test"]).status == 0)
        try await fleet.stopInstance(2)
        try await fleet.waitForReports(count: 2)
        // Two switches while edge-3 is away, then the history compacted past its revision.
        #expect(try await fleet.cutover(["switch", "app", "blue", "--no-smoke-test"]).status == 0)
        #expect(try await fleet.cutover(["backend", "drain", "green", "127.0.0.1:\(fleet.green.port)"]).status == 0)
        let revision = try await fleet.etcd.revision()
        let compact = try await fleet.etcd.ctl(["compact", String(revision)])
        #expect(compact.status == 0, "\(compact)")

        // Its watch resumes after the cached revision, finds it compacted, reads the pointer
        // again and applies generation 3.
        try await fleet.startInstance(2)
        try await fleet.waitForGeneration(2, 3)
        #expect(try await fleet.answers(2, count: 2) == ["blue", "blue"])
        let log = fleet.instances[2].child?.stderrText ?? ""
        #expect(log.contains("is compacted (etcd compacted up to \(revision)); reading it again"), "\(log)")
        #expect(log.contains("fleet: generation 3 applied"), "\(log)")
    }
}

import Foundation
import Glibc
import Testing

/// A fleet of three instances switched together through a real etcd: a switch converges on all
/// three and the command says so; a desired state an instance cannot apply is refused by each
/// and put back; two switches at once never both write.
@Suite(.serialized) struct FleetSwitchTests {
    @Test func aSwitchConvergesOnEveryInstance() async throws {
        let fleet = try await FleetBed.start()
        defer { fleet.bed.tearDown() }
        for i in 0..<3 { #expect(try await fleet.answers(i) == ["blue", "blue", "blue", "blue"]) }

        var agreements: [Double] = []
        var generation = 0
        for (step, pool) in ["green", "blue", "green", "blue", "green"].enumerated() {
            let run = try await fleet.cutover(["switch", "app", pool, "--no-smoke-test"], file: fleet.instances[step % 3].configURL)
            #expect(run.status == 0, "\(run)")
            generation += 1
            #expect(run.stdout.contains("fleet generation \(generation) applied by 3 of 3 instance(s) (edge-1, edge-2, edge-3)"), "\(run.stdout)")
            agreements.append(try #require(FleetBed.agreementSeconds(run.stdout), "\(run.stdout)"))
            // Reported means in force: every instance sends new requests to the new pool at once.
            for i in 0..<3 {
                #expect(try await fleet.answers(i, count: 2) == [pool, pool])
                let state = try await fleet.fleet(i)
                #expect(state["applied_generation"] as? Int == generation)
                #expect(state["connected"] as? Bool == true)
                #expect(state["last_error"] is NSNull)
            }
        }
        let sorted = agreements.sorted()
        print("fleet agreement after a switch (3 instances): median \(sorted[sorted.count / 2]) s, max \(sorted.last ?? 0) s over \(sorted.count) switches")

        let list = try await fleet.cutover(["fleet", "status"])
        #expect(list.status == 0, "\(list)")
        #expect(list.stdout.contains("active generation 5"))
        for name in ["edge-1", "edge-2", "edge-3"] {
            #expect(list.stdout.split(separator: "\n").contains { $0.hasPrefix(name) && $0.contains(" 5 ") && $0.contains("in sync") && $0.contains("ready") },
                    "\(list.stdout)")
        }
        let json = try await fleet.cutover(["fleet", "status", "--json"])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(parsed["active_generation"] as? Int == 5)
        #expect((parsed["instances"] as? [[String: Any]])?.count == 3)

        // The fleet's state in etcd: the pointer and one document per generation.
        let active = try await fleet.etcd.ctl(["get", "\(fleet.prefix)/active", "--print-value-only"])
        #expect(active.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5")
        let document = try await fleet.etcd.ctl(["get", "\(fleet.prefix)/desired/5", "--print-value-only"])
        #expect(document.stdout.contains(#""routes":{"app":{"pools":{"blue":0,"green":100}}}"#), "\(document.stdout)")

        // /metrics has the fleet's gauges.
        let metrics = try await fleet.bed.curl(["-s", "http://127.0.0.1:\(fleet.instances[1].adminPort)/metrics"])
        #expect(metrics.text.contains("cutover_fleet_connected 1"))
        #expect(metrics.text.contains("cutover_fleet_generation 5"))

        // backend drain across the fleet: a new generation, every instance's blue backend drained.
        let drain = try await fleet.cutover(["backend", "drain", "blue", "127.0.0.1:\(fleet.blue.port)"])
        #expect(drain.status == 0, "\(drain)")
        #expect(drain.stdout.contains("fleet generation 6 applied by 3 of 3"), "\(drain.stdout)")
        for i in 0..<3 {
            let pools = try #require(try await fleet.status(i)["pools"] as? [[String: Any]])
            let blue = try #require(pools.first { $0["name"] as? String == "blue" }?["backends"] as? [[String: Any]])
            #expect(blue.first?["admin_state"] as? String == "drain")
        }
    }

    @Test func anInvalidDesiredStateIsRefusedByEveryInstanceAndPutBack() async throws {
        let fleet = try await FleetBed.start()
        defer { fleet.bed.tearDown() }
        #expect(try await fleet.cutover(["switch", "app", "green", "--no-smoke-test"]).status == 0)

        // An operator's file with a pool the instances do not have: the command writes the
        // generation, each instance refuses it, and the command puts generation 1 back.
        let other = fleet.bed.directory.appendingPathComponent("operator.yaml")
        try fleet.yaml(0, extraPool: true).write(to: other, atomically: true, encoding: .utf8)
        let run = try await fleet.cutover(["switch", "app", "red", "--no-smoke-test"], file: other)
        #expect(run.status == 1, "\(run)")
        for name in ["edge-1", "edge-2", "edge-3"] {
            #expect(run.stderr.contains("\(name) (generation 2 refused: route 'app': pool 'red' is not one of its pools here (blue, green))"), "\(run.stderr)")
        }
        #expect(run.stderr.contains("generation 3 puts generation 1's state back"), "\(run.stderr)")
        for i in 0..<3 {
            try await fleet.waitForGeneration(i, 3)
            #expect(try await fleet.answers(i, count: 2) == ["green", "green"])
        }

        // A document written by hand that names what no instance has: refused by each, reported
        // in /status, /metrics and etcd, and the instances keep serving generation 3.
        let bad = #"{"format":1,"generation":4,"previous":3,"routes":{"checkout":{"pools":{"blue":100}}},"backends":{"blue":{"127.0.0.1:1":"drain"}},"written_by":"a hand","written_at":"now","id":"x"}"#
        #expect(try await fleet.etcd.ctl(["put", "\(fleet.prefix)/desired/4", bad]).status == 0)
        #expect(try await fleet.etcd.ctl(["put", "\(fleet.prefix)/active", "4"]).status == 0)
        for i in 0..<3 {
            try await waitUntil("\(fleet.instances[i].name) refuses generation 4", every: .milliseconds(50)) {
                (try await fleet.fleet(i)["refused_generation"] as? Int) == 4
            }
            let state = try await fleet.fleet(i)
            #expect(state["applied_generation"] as? Int == 3)
            let error = try #require(state["last_error"] as? String)
            #expect(error.contains("route 'checkout' is not in this instance's config"), "\(error)")
            #expect(error.contains("pool 'blue': backend 127.0.0.1:1 is not in this instance's config"), "\(error)")
            #expect(try await fleet.answers(i, count: 2) == ["green", "green"])
            let metrics = try await fleet.bed.curl(["-s", "http://127.0.0.1:\(fleet.instances[i].adminPort)/metrics"])
            #expect(metrics.text.contains("cutover_fleet_refused_generation 4"))
            #expect(metrics.text.contains("cutover_fleet_generation 3"))
        }
        try await waitUntil("fleet status shows the refusals", every: .milliseconds(100)) {
            let list = try await fleet.cutover(["fleet", "status"])
            return list.stdout.split(separator: "\n").filter { $0.contains("refused 4") }.count == 3
        }
        // The next switch builds on the document in force less what the operator's file says
        // cannot fit (and says so): the fleet is whole again.
        let fix = try await fleet.cutover(["switch", "app", "blue", "--no-smoke-test"])
        #expect(fix.status == 0, "\(fix)")
        #expect(fix.stdout.contains("left out of generation 5: route 'checkout' is not in this instance's config"), "\(fix.stdout)")
        #expect(fix.stdout.contains("fleet generation 5 applied by 3 of 3"), "\(fix.stdout)")
        for i in 0..<3 {
            #expect(try await fleet.fleet(i)["refused_generation"] is NSNull)
            #expect(try await fleet.answers(i, count: 2) == ["blue", "blue"])
        }
    }

    /// Every switch writes a document; only the last ten stay in etcd, so the store does not grow
    /// with every deployment, and the one in force is always there.
    @Test func onlyTheLastTenGenerationsStayInEtcd() async throws {
        let fleet = try await FleetBed.start(["edge-1"])
        defer { fleet.bed.tearDown() }
        for generation in 1...13 {
            let pool = generation % 2 == 0 ? "blue" : "green"
            let run = try await fleet.cutover(["switch", "app", pool, "--no-smoke-test"])
            #expect(run.status == 0, "\(run)")
            #expect(run.stdout.contains("fleet generation \(generation) applied"), "\(run.stdout)")
        }
        let listed = try await fleet.etcd.ctl(["get", "\(fleet.prefix)/desired/", "--prefix", "--keys-only"])
        let kept = listed.stdout.split(separator: "\n").compactMap { Int($0.split(separator: "/").last ?? "") }.sorted()
        #expect(kept == Array(4...13), "\(listed.stdout)")
        #expect(try await fleet.answers(0, count: 2) == ["green", "green"])
    }

    /// Without --no-smoke-test a fleet switch first probes POOL through this machine's instance
    /// (its listener, with the route's override header): a failing answer writes nothing.
    @Test func aFleetSwitchIsSmokeTestedThroughTheLocalInstanceFirst() async throws {
        let fleet = try await FleetBed.start(["edge-1", "edge-2"])
        defer { fleet.bed.tearDown() }
        let failing = try await fleet.cutover(["switch", "app", "green", "--smoke-path", "/status?code=503"])
        #expect(failing.status == 1, "\(failing)")
        #expect(failing.stderr.contains("503"), "\(failing.stderr)")
        let untouched = try await fleet.etcd.ctl(["get", "\(fleet.prefix)/active", "--print-value-only"])
        #expect(untouched.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "nothing written: \(untouched.stdout)")
        for i in 0..<2 { #expect(try await fleet.answers(i, count: 2) == ["blue", "blue"]) }

        let passing = try await fleet.cutover(["switch", "app", "green"])
        #expect(passing.status == 0, "\(passing)")
        #expect(passing.stdout.contains("smoke test: GET / via listener web"), "\(passing.stdout)")
        #expect(passing.stdout.contains("fleet generation 1 applied by 2 of 2"), "\(passing.stdout)")
        for i in 0..<2 { #expect(try await fleet.answers(i, count: 2) == ["green", "green"]) }
    }

    @Test func twoSwitchesAtOnceNeverBothWrite() async throws {
        let fleet = try await FleetBed.start(["edge-1"])
        defer { fleet.bed.tearDown() }
        // Six commands at once over the same generation: each either wrote its own generation
        // or was told that another won; the generations written are exactly the winners'.
        let results = try await withThrowingTaskGroup(of: (Int32, String, String).self) { group in
            for k in 0..<6 {
                let pool = k % 2 == 0 ? "green" : "blue"
                group.addTask { try await fleet.cutover(["switch", "app", pool, "--no-smoke-test"]) }
            }
            var all: [(Int32, String, String)] = []
            for try await result in group { all.append(result) }
            return all
        }
        let winners = results.filter { $0.0 == 0 }
        let losers = results.filter { $0.0 != 0 }
        for loser in losers {
            #expect(loser.0 == 1)
            #expect(loser.2.contains("another change won: generation"), "\(loser.2)")
            #expect(loser.2.contains("nothing was written"), "\(loser.2)")
        }
        #expect(!winners.isEmpty)
        print("six switches at once: \(winners.count) wrote, \(losers.count) told another won")
        let written = winners.compactMap { w in w.1.range(of: #"generation [0-9]+ written"#, options: .regularExpression).map { String(w.1[$0]) } }
        let active = try await fleet.etcd.ctl(["get", "\(fleet.prefix)/active", "--print-value-only"])
        let generations = winners.count - winners.filter { $0.1.contains("already says so") }.count
        #expect(Int(active.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == generations, "\(results)")
        #expect(Set(written).count == written.count)
    }
}

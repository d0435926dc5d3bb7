import Foundation
import Testing

/// Issue 5, item 2 of its tests: a killed backend restarted on the same port comes back through
/// `checking`, gets nothing until `rise` checks passed, then ramps with `slow_start`: well under
/// its full share in the first tenth of the ramp, its full share at the end (counted per backend
/// in time windows of the load generator's records).
@Suite struct SlowStartRampTests {
    @Test func aRestartedBackendComesBackThroughCheckingThenRampsWithSlowStart() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let b = try await bed.backend("b")
        // Weight 100: /status shows effective weights on the configured scale, so in percent here.
        let slowStart: UInt64 = 4_000_000_000
        let s = try await LifecycleBed.start([(a.port, 100), (b.port, 100)],
                                             poolLines: BackendHealthTests.fastCheck + ["slow_start: 4s"], in: bed)
        try await waitUntil("both backends are healthy") {
            let states = [try await s.state(a.port), try await s.state(b.port)]
            return states == ["healthy", "healthy"]
        }
        try await offPool { b.child.kill() }
        try await waitUntil("/status shows b unhealthy", timeout: .seconds(5)) { try await s.state(b.port) == "unhealthy" }
        // a's own slow start (it turned healthy at start-up) must be over before b's is measured.
        try await waitUntil("a is at full weight", timeout: .seconds(10)) {
            try await s.backend(a.port)?["effective_weight"] as? Int == 100
        }

        let again = try await restartBackend("b", port: b.port, in: bed.directory)
        defer { again.kill() }
        let load = try LoadGenerator.start(port: s.port, keepAlive: 3, limit: .seconds(30), in: bed.directory)
        defer { load.kill() }

        // Until /status shows b healthy it gets nothing: its request count, read before a /status
        // that still shows it out, must be 0.
        var states: [String] = []
        var leaks: [String] = []
        var firstWeight: Int?
        try await waitUntil("b turns healthy again", timeout: .seconds(5), every: .milliseconds(5)) {
            let heads = try await backendHeads(port: b.port)
            let entry = try await s.backend(b.port)
            let state = entry?["state"] as? String ?? "unlisted"
            if states.last != state { states.append(state) }
            if state != "healthy" && heads != 0 { leaks.append("\(heads) requests reached b while /status showed it \(state)") }
            if state == "healthy" { firstWeight = entry?["effective_weight"] as? Int }
            return state == "healthy"
        }
        let healthy = monotonicNanoseconds()
        try await waitUntil("b is at full weight", timeout: .seconds(10), every: .milliseconds(5)) {
            try await s.backend(b.port)?["effective_weight"] as? Int == 100
        }
        let full = monotonicNanoseconds()
        let total = try await backendHeads(port: a.port) + backendHeads(port: b.port)
        try await waitUntil("300 requests after the ramp") {
            try await backendHeads(port: a.port) + backendHeads(port: b.port) >= total + 300
        }
        let report = try await load.stop()

        #expect(states.contains("checking"), "after its restart /status showed b as \(states), never `checking`")
        #expect(states.last == "healthy" && Set(states).isSubset(of: ["unhealthy", "checking", "healthy"]), "\(states)")
        #expect(leaks.isEmpty, "\(leaks)")
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        #expect(firstWeight.map { (10...20).contains($0) } == true, "b's effective weight when it turned healthy: \(String(describing: firstWeight))")
        #expect(milliseconds(healthy, full) > 3800 && milliseconds(healthy, full) < 5000,
                "b reached full weight \(milliseconds(healthy, full)) ms after it turned healthy (slow_start 4s)")

        // At full weight b's share is 50 %. In the first tenth of the ramp its weight is 10–15 %
        // of a's (a share of 9–13 %); around the middle 50–55 % (33–35 %).
        let tenth = slowStart / 10
        let early = report.share(of: "b", sentFrom: healthy, to: healthy + tenth)
        let middle = report.share(of: "b", sentFrom: healthy + 4 * tenth + tenth / 2, to: healthy + 5 * tenth + tenth / 2)
        let end = report.share(of: "b", sentFrom: full, to: .max)
        #expect(early.count >= 40 && middle.count >= 40 && end.count >= 200, "requests per window: \(early.count), \(middle.count), \(end.count)")
        #expect(early.share > 0 && early.share < 0.25, "b got \(early.share) of the first tenth of its slow start (\(early.count) requests)")
        #expect(middle.share > 0.2 && middle.share < 0.45, "b got \(middle.share) around the middle of its slow start (\(middle.count) requests)")
        #expect(abs(end.share - 0.5) <= 0.1, "b got \(end.share) after its slow start (\(end.count) requests)")
        // Nothing from b before it was seen healthy (it may have turned so up to one poll earlier).
        #expect(report.records.filter { $0.backend == "b" && $0.done < healthy - 50_000_000 }.isEmpty)
    }
}

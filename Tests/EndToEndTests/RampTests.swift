import Foundation
import Testing

/// Issue 4, item 6: a reload that changes a split with `ramp` moves the effective split linearly
/// from the old weights to the new ones, instead of all at once.
@Suite struct RampTests {
    @Test func aRampedSwitchMovesTheSplitGraduallyAndEndsOnTheNewColour() async throws {
        let ramp = ["ramp: 3s"]
        let s = try await ColourBed.start([("blue", 100), ("green", 0)], routeLines: ramp)
        defer { s.bed.tearDown() }
        let load = try LoadGenerator.start(port: s.port, keepAlive: 2, limit: .seconds(30), in: s.bed.directory)
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await s["blue"].counts().heads >= 20 }

        let (response, returned) = try await s.reload(s.config([("blue", 0), ("green", 100)], routeLines: ramp))
        #expect(response.status == 200)
        let second: UInt64 = 1_000_000_000
        try await waitUntil("/status shows the ramp finished", timeout: .seconds(10)) {
            try await effectiveWeights(s) == ["blue": 0, "green": 100]
        }
        let finished = monotonicNanoseconds()
        let greenSoFar = try await s["green"].counts().heads
        try await waitUntil("green takes load after the ramp") { try await s["green"].counts().heads >= greenSoFar + 20 }
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        #expect(finished - returned > 2 * second, "the 3 s ramp finished after \((finished - returned) / 1_000_000) ms")

        func greenShare(from start: UInt64, to end: UInt64) -> Double {
            let window = report.records.filter { $0.succeeded && $0.sent >= returned + start && $0.done < returned + end }
            guard !window.isEmpty else { return -1 }
            return Double(window.filter { $0.backend == "green" }.count) / Double(window.count)
        }
        let early = greenShare(from: 0, to: second / 2)                        // ramp at 0–17 %
        let middle = greenShare(from: second * 14 / 10, to: second * 16 / 10)  // ramp at ≈ 50 %
        let after = greenShare(from: finished - returned, to: .max / 2)
        #expect(early >= 0 && early < 0.3, "green got \(early) of the first half second")
        #expect(middle > 0.25 && middle < 0.75, "green got \(middle) around the middle of the ramp")
        #expect(after == 1, "green got \(after) after the ramp")
    }

    /// Route `app`'s effective weights by pool, from `/status`.
    private func effectiveWeights(_ s: ColourBed) async throws -> [String: Int] {
        let routes = try await s.status()["routes"] as? [[String: Any]] ?? []
        let pools = routes.first?["pools"] as? [[String: Any]] ?? []
        var weights: [String: Int] = [:]
        for pool in pools {
            if let name = pool["name"] as? String, let weight = pool["effective_weight"] as? Int { weights[name] = weight }
        }
        return weights
    }
}

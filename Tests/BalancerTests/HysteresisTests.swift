import Testing
@testable import Balancer

/// Rise/fall hysteresis, rise = 2 and fall = 3 unless said otherwise.
@Suite struct HysteresisTests {
    private typealias T = Hysteresis.Transition

    /// Feeds a sequence ("S" success, "F" failure) and returns the transitions, nil where none.
    private func run(_ h: inout Hysteresis, _ results: String) -> [T?] {
        results.map { h.record(success: $0 == "S") }
    }

    @Test func aNewBackendIsCheckingUntilRiseSuccesses() {
        var h = Hysteresis(rise: 2, fall: 3)
        #expect(h.state == .checking && !h.state.isUsable)
        #expect(run(&h, "SS") == [nil, T(from: .checking, to: .healthy)])
        #expect(h.state.isUsable && h.counter == 4)
    }

    @Test func aFirstFailureWhileCheckingMarksUnhealthy() {
        var h = Hysteresis(rise: 2, fall: 3)
        #expect(run(&h, "SF") == [nil, T(from: .checking, to: .unhealthy)])
        #expect(run(&h, "SS") == [T(from: .unhealthy, to: .checking), T(from: .checking, to: .healthy)])
    }

    @Test func healthyNeedsFallFailuresInARow() {
        var h = Hysteresis(rise: 2, fall: 3, state: .healthy)
        #expect(run(&h, "FFSFF") == [nil, nil, nil, nil, nil])
        #expect(h.state == .healthy && h.counter == 2)
        #expect(run(&h, "F") == [T(from: .healthy, to: .unhealthy)])
        #expect(h.counter == 0)
    }

    @Test func unhealthyNeedsRiseSuccessesInARow() {
        var h = Hysteresis(rise: 2, fall: 3, state: .unhealthy)
        // A success shows it coming back (`checking`, still unusable); a failure sends it back.
        #expect(run(&h, "SFSFFS") == [T(from: .unhealthy, to: .checking), T(from: .checking, to: .unhealthy),
                                      T(from: .unhealthy, to: .checking), T(from: .checking, to: .unhealthy), nil,
                                      T(from: .unhealthy, to: .checking)])
        #expect(h.state == .checking && !h.state.isUsable)
        #expect(run(&h, "S") == [T(from: .checking, to: .healthy)])
    }

    /// The counter follows HAProxy's check->health row by row.
    @Test func counterTruthTable() {
        var h = Hysteresis(rise: 2, fall: 3)
        var trail: [Int] = []
        for r in "SSFFSFFFSS" {
            _ = h.record(success: r == "S")
            trail.append(h.counter)
        }
        #expect(trail == [1, 4, 3, 2, 4, 3, 2, 0, 1, 4])
    }

    @Test func aFullCycle() {
        var h = Hysteresis(rise: 2, fall: 3)
        let transitions = run(&h, "SSFFFSSFFF").compactMap { $0 }
        #expect(transitions == [
            T(from: .checking, to: .healthy), T(from: .healthy, to: .unhealthy),
            T(from: .unhealthy, to: .checking), T(from: .checking, to: .healthy), T(from: .healthy, to: .unhealthy),
        ])
    }

    @Test func riseAndFallOfOneFlipOnEveryChange() {
        var h = Hysteresis(rise: 1, fall: 1)
        #expect(run(&h, "SSFFS") == [
            T(from: .checking, to: .healthy), nil, T(from: .healthy, to: .unhealthy), nil,
            T(from: .unhealthy, to: .healthy),
        ])
    }

    @Test func thresholdsBelowOneAreOne() {
        let h = Hysteresis(rise: 0, fall: -2)
        #expect(h.rise == 1 && h.fall == 1)
    }
}

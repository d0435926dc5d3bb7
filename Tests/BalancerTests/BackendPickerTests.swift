import Testing
@testable import Balancer

/// Backend selection inside a pool, for all three algorithms, over effective weights.
@Suite struct BackendPickerTests {
    private static let seed: UInt64 = 0x5EED

    private func counts(
        _ kind: BalancerKind, weights: [Int], inFlight: [Int32]? = nil, excluding tried: TriedSet = TriedSet(),
        picks: Int, seed: UInt64 = seed
    ) -> [Int] {
        var picker = BackendPicker(kind: kind, weights: weights, seed: seed)
        let inFlight = inFlight ?? [Int32](repeating: 0, count: weights.count)
        var result = [Int](repeating: 0, count: weights.count)
        for _ in 0..<picks {
            if let i = picker.pick(effectiveWeights: weights, inFlight: inFlight, excluding: tried) { result[i] += 1 }
        }
        return result
    }

    @Test(arguments: BalancerKind.allCases)
    func zeroWeightAndExcludedAreNeverPicked(kind: BalancerKind) {
        var tried = TriedSet()
        tried.insert(2)
        let result = counts(kind, weights: [1000, 0, 1000, 1000, -3], excluding: tried, picks: 5000)
        #expect(result[1] == 0 && result[2] == 0 && result[4] == 0)
        #expect(result[0] > 0 && result[3] > 0)
        #expect(result.reduce(0, +) == 5000)
    }

    @Test(arguments: BalancerKind.allCases)
    func nothingEligibleGivesNil(kind: BalancerKind) {
        var picker = BackendPicker(kind: kind, weights: [1000, 0], seed: Self.seed)
        var tried = TriedSet()
        tried.insert(0)
        #expect(picker.pick(effectiveWeights: [1000, 0], inFlight: [0, 0], excluding: tried) == nil)
        #expect(picker.pick(effectiveWeights: [0, 0], inFlight: [0, 0]) == nil)
        #expect(picker.pick(effectiveWeights: [], inFlight: []) == nil)
    }

    @Test(arguments: BalancerKind.allCases)
    func theOnlyEligibleBackendIsAlwaysPicked(kind: BalancerKind) {
        var tried = TriedSet()
        tried.insert(0)
        #expect(counts(kind, weights: [1000, 1000, 0], excluding: tried, picks: 100) == [0, 100, 0])
    }

    @Test(arguments: BalancerKind.allCases)
    func aBackendAddedToTheArrayIsPickedUp(kind: BalancerKind) {
        var picker = BackendPicker(kind: kind, weights: [1000], seed: Self.seed)
        var seen = Set<Int>()
        for _ in 0..<200 {
            if let i = picker.pick(effectiveWeights: [1000, 1000], inFlight: [0, 0]) { seen.insert(i) }
        }
        #expect(seen == [0, 1])
    }

    @Test func roundRobinIsExactOverEffectiveWeights() {
        // A backend at the 10 % slow-start floor next to one at full weight 1.
        let result = counts(.roundRobin, weights: [1000, 100], picks: 1100 * 3)
        #expect(result == [3000, 300])
    }

    @Test func roundRobinKeepsItsRotationWhenWeightsMove() {
        var picker = BackendPicker(kind: .roundRobin, weights: [1000, 1000, 1000], seed: Self.seed)
        var reference = SmoothWeightedRoundRobin(weights: [1000, 1000, 1000])
        var weights = [1000, 1000, 1000]
        for i in 0..<300 {
            if i % 10 == 0 {
                weights[2] = min(1000, 100 + i * 5)
                reference.setWeight(weights[2], at: 2)
            }
            #expect(picker.pick(effectiveWeights: weights, inFlight: []) == reference.next())
        }
    }

    @Test func leastRequestPrefersTheBackendWithFewerInFlight() {
        // Two backends are always the two candidates: the less loaded one wins every time.
        #expect(counts(.leastRequest, weights: [1000, 1000], inFlight: [5, 0], picks: 1000) == [0, 1000])
        #expect(counts(.leastRequest, weights: [1000, 1000], inFlight: [0, 1], picks: 1000) == [1000, 0])
        // Among three, the idle one wins whenever it is drawn (2 of 3 pairs), the busy ones share the rest.
        let three = counts(.leastRequest, weights: [1000, 1000, 1000], inFlight: [10, 0, 10], picks: 30_000)
        #expect(abs(three[1] - 20_000) < 600)
        #expect(abs(three[0] - 5_000) < 400 && abs(three[2] - 5_000) < 400)
    }

    @Test func leastRequestComparesLoadPerWeight() {
        // (2+1)/2000 < (1+1)/1000: the heavier backend takes more in flight before it loses.
        #expect(counts(.leastRequest, weights: [2000, 1000], inFlight: [2, 1], picks: 500) == [500, 0])
        // (4+1)/2000 > (1+1)/1000.
        #expect(counts(.leastRequest, weights: [2000, 1000], inFlight: [4, 1], picks: 500) == [0, 500])
        // Idle: the +1 lets the heavier backend win.
        #expect(counts(.leastRequest, weights: [3000, 1000], inFlight: [0, 0], picks: 500) == [500, 0])
    }

    @Test func leastRequestWithEqualLoadIsUniform() {
        let result = counts(.leastRequest, weights: [1000, 1000, 1000, 1000], picks: 100_000)
        for n in result { #expect(abs(n - 25_000) <= 500) }
    }

    @Test func leastRequestToleratesAShortInFlightArray() {
        // Missing entries count as 0 in flight.
        #expect(counts(.leastRequest, weights: [1000, 1000], inFlight: [3], picks: 100) == [0, 100])
    }

    @Test func randomIsWeightProportionalWithinTwoPercent() {
        var tried = TriedSet()
        tried.insert(4)
        let weights = [1000, 0, 2000, 5000, 9000]
        let result = counts(.random, weights: weights, excluding: tried, picks: 100_000)
        let expected = [12_500, 0, 25_000, 62_500, 0]
        for i in 0..<weights.count {
            #expect(Double(abs(result[i] - expected[i])) <= Double(expected[i]) * 0.02, "backend \(i): \(result[i])")
        }
    }

    @Test func workersWithDifferentSeedsDrawDifferently() {
        let a = counts(.random, weights: [1000, 1000, 1000], picks: 1000, seed: 1)
        let b = counts(.random, weights: [1000, 1000, 1000], picks: 1000, seed: 2)
        let again = counts(.random, weights: [1000, 1000, 1000], picks: 1000, seed: 1)
        #expect(a != b && a == again)
    }
}

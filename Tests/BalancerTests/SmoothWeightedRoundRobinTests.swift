import Testing
@testable import Balancer

@Suite struct SmoothWeightedRoundRobinTests {
    private func picks(_ weights: [Int], _ n: Int) -> [Int] {
        var rr = SmoothWeightedRoundRobin(weights: weights)
        return (0..<n).compactMap { _ in rr.next() }
    }

    @Test func interleavesLikeNginx() {
        // nginx's documented sequence for weights 5, 1, 1.
        #expect(picks([5, 1, 1], 7) == [0, 0, 1, 0, 2, 0, 0])
    }

    @Test(arguments: [[95, 5], [1, 99], [3, 2, 1], [1, 1]])
    func everyWindowOfTotalMatchesTheWeightsExactly(weights: [Int]) {
        let total = weights.reduce(0, +)
        let sequence = picks(weights, total * 3)
        for window in 0..<3 {
            let slice = sequence[(window * total)..<((window + 1) * total)]
            for (i, w) in weights.enumerated() {
                #expect(slice.filter { $0 == i }.count == w)
            }
        }
    }

    @Test func zeroWeightIsNeverPicked() {
        #expect(!picks([100, 0], 1000).contains(1))
    }

    @Test func allZeroGivesNil() {
        var rr = SmoothWeightedRoundRobin(weights: [0, 0])
        #expect(rr.next() == nil)
    }

    @Test func ineligibleCandidatesAreSkipped() {
        var rr = SmoothWeightedRoundRobin(weights: [1, 1, 1])
        var tried = TriedSet()
        tried.insert(0)
        tried.insert(2)
        for _ in 0..<5 { #expect(rr.next(where: { !tried.contains($0) }) == 1) }
        tried.insert(1)
        #expect(rr.next(where: { !tried.contains($0) }) == nil)
    }

    @Test func triedSetCoversHighIndices() {
        var tried = TriedSet()
        tried.insert(3)
        tried.insert(100)
        #expect(tried.contains(3) && tried.contains(100) && !tried.contains(64) && tried.count == 2)
        tried.insert(500)
        #expect(!tried.contains(500))
    }
}

/// Weights that change in place: the rotation state survives, a change of scale alone is
/// invisible, and caller-held weights are synced in the same pass as the pick.
@Suite struct SmoothWeightedRoundRobinUpdateTests {
    @Test func aChangeOfScaleAloneChangesNothing() {
        var plain = SmoothWeightedRoundRobin(weights: [95, 5])
        var rescaled = SmoothWeightedRoundRobin(weights: [95, 5])
        for _ in 0..<37 { _ = plain.next(); _ = rescaled.next() }
        rescaled.setWeights([950_000, 50_000])
        for _ in 0..<250 { #expect(plain.next() == rescaled.next()) }
        rescaled.setWeights([95, 5])
        for _ in 0..<250 { #expect(plain.next() == rescaled.next()) }
    }

    @Test func externalWeightsAreSyncedAndKeepTheRotation() {
        var stored = SmoothWeightedRoundRobin(weights: [3, 1])
        var external = SmoothWeightedRoundRobin(weights: [3, 1])
        var current = [3, 1]
        for i in 0..<200 {
            if i == 50 { current = [1, 1]; stored.setWeight(1, at: 0) }
            if i == 120 { current = [0, 5]; stored.setWeight(0, at: 0); stored.setWeight(5, at: 1) }
            #expect(stored.next() == external.next(weights: current))
        }
        #expect(external.weights == [0, 5])
    }

    @Test func externalWeightsResizeTheRotation() {
        var rr = SmoothWeightedRoundRobin(weights: [1])
        #expect(rr.next(weights: [1, 1, -4]) != nil)
        #expect(rr.count == 3 && rr.weights == [1, 1, 0])
        let picks = (0..<10).compactMap { _ in rr.next(weights: [1, 1]) }
        #expect(picks.filter { $0 == 1 }.count == 5 && rr.count == 2)
    }

    @Test func setWeightsResizesAndClamps() {
        var rr = SmoothWeightedRoundRobin(weights: [1, 1])
        rr.setWeights([2, -1, 3])
        #expect(rr.weights == [2, 0, 3])
        let picks = (0..<5).compactMap { _ in rr.next() }
        #expect(picks.sorted() == [0, 0, 2, 2, 2])
        rr.setWeights([])
        #expect(rr.next() == nil)
    }
}

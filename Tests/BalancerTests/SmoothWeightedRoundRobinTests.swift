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

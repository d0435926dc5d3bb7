/// Smooth weighted round robin, as nginx does it: every pick adds each candidate's weight to its
/// running score, takes the highest score and subtracts the total from it. Picks interleave
/// (a 5:1:1 pool gives a a b a c a a, not a a a a a b c) and any window of `total` picks matches the
/// weights exactly, which keeps a 95/5 split at 95/5 even over a few hundred requests.
///
/// Value type, owned by one worker: no locks, no allocation per pick.
public struct SmoothWeightedRoundRobin: Sendable {
    public private(set) var weights: [Int]
    private var scores: [Int]

    public init(weights: [Int]) {
        self.weights = weights.map { max(0, $0) }
        self.scores = [Int](repeating: 0, count: weights.count)
    }

    public var count: Int { weights.count }

    /// The next index among candidates with a positive weight that `isEligible` accepts, or nil
    /// when there is none. `isEligible` lets the caller skip backends it already tried.
    @inline(__always)
    public mutating func next(where isEligible: (Int) -> Bool = { _ in true }) -> Int? {
        var total = 0
        var best = -1
        var bestScore = Int.min
        for i in 0..<weights.count {
            let w = weights[i]
            guard w > 0, isEligible(i) else { continue }
            scores[i] &+= w
            total &+= w
            if scores[i] > bestScore {
                bestScore = scores[i]
                best = i
            }
        }
        guard best >= 0 else { return nil }
        scores[best] &-= total
        return best
    }

    /// Changes one weight, keeping the rotation state of the others.
    public mutating func setWeight(_ weight: Int, at index: Int) {
        weights[index] = max(0, weight)
    }
}

/// Smooth weighted round robin, as nginx does it: every pick adds each candidate's weight to its
/// running score, takes the highest score and subtracts the total from it. Picks interleave
/// (a 5:1:1 pool gives a a b a c a a, not a a a a a b c) and any window of `total` picks matches the
/// weights exactly, which keeps a 95/5 split at 95/5 even over a few hundred requests.
///
/// The scores are the rotation state. Weights can change in place (a slow-start step, a ramp step)
/// without resetting them, so a frequent small change does not hand the first pick back to the
/// heaviest candidate every time: a 99/1 split re-published every second still gives the 1 its turn.
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

    /// Like `next(where:)`, with `current` as the weights: for a caller that keeps the weights
    /// itself (a worker's effective weights, which move during slow start and drain). The stored
    /// weights take the new values in the same pass, so there is no second walk and no copy; the
    /// rotation state is kept. A change in the number of candidates (a new snapshot) resizes once;
    /// new candidates start with a neutral score.
    @inline(__always)
    public mutating func next(weights current: [Int], where isEligible: (Int) -> Bool = { _ in true }) -> Int? {
        if current.count != weights.count { resize(to: current.count) }
        var total = 0
        var best = -1
        var bestScore = Int.min
        for i in 0..<current.count {
            let w = max(0, current[i])
            if weights[i] != w { weights[i] = w }
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

    /// Replaces all the weights, keeping each candidate's place in the rotation. When the total
    /// changes, the scores are rescaled with it, so a change of scale alone (95/5 → 950/50, or a
    /// ramp in parts per million ending on the operator's 0/100) changes nothing in the sequence,
    /// and a step from a large total to a small one cannot hand anyone a burst of picks.
    /// Candidates beyond the old count start with a neutral score; surplus ones are dropped.
    ///
    /// Allocates only when the count changes. Called by the worker that owns this value.
    public mutating func setWeights(_ newWeights: [Int]) {
        var oldTotal = 0
        for w in weights { oldTotal &+= w }
        if newWeights.count != weights.count { resize(to: newWeights.count) }
        var newTotal = 0
        for i in 0..<newWeights.count {
            let w = max(0, newWeights[i])
            if weights[i] != w { weights[i] = w }
            newTotal &+= w
        }
        guard oldTotal > 0, newTotal > 0, oldTotal != newTotal else { return }
        for i in 0..<scores.count where scores[i] != 0 {
            let (scaled, overflow) = scores[i].multipliedReportingOverflow(by: newTotal)
            scores[i] = overflow ? 0 : scaled / oldTotal
        }
    }

    private mutating func resize(to count: Int) {
        if count < weights.count {
            weights.removeLast(weights.count - count)
            scores.removeLast(scores.count - count)
        } else {
            weights.append(contentsOf: repeatElement(0, count: count - weights.count))
            scores.append(contentsOf: repeatElement(0, count: count - scores.count))
        }
    }
}

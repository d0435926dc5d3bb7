extension BackendPicker {
    /// `least_request`, power of two choices: draw two distinct eligible backends by weight
    /// (uniform when the weights are equal), keep the one with the lower (in-flight + 1) / weight.
    /// Two random candidates avoid the herd that "globally least loaded" causes when every worker
    /// sees the same idle backend, and need no sorted structure; the +1 makes an idle heavy backend
    /// beat an idle light one.
    ///
    /// A tie keeps the first draw, which is itself random.
    mutating func pickLeastRequest(effectiveWeights weights: [Int], inFlight: [Int32], excluding tried: TriedSet) -> Int? {
        let eligible = WeightedSampling.survey(weights, excluding: tried)
        switch eligible.count {
        case 0: return nil
        case 1: return eligible.last
        default: break
        }
        let first = WeightedSampling.draw(from: weights, total: eligible.total, excluding: tried, using: &random)
        guard first >= 0 else { return nil }
        let second = WeightedSampling.draw(
            from: weights, total: eligible.total &- weights[first], excluding: tried, skipping: first, using: &random)
        guard second >= 0 else { return first }
        return Self.isLessLoaded(second, than: first, weights: weights, inFlight: inFlight) ? second : first
    }

    /// Whether (inFlight[a] + 1) / weight[a] < (inFlight[b] + 1) / weight[b], by cross-multiplying
    /// in 128 bits: no division, no rounding, no overflow at any weight scale.
    @inline(__always)
    static func isLessLoaded(_ a: Int, than b: Int, weights: [Int], inFlight: [Int32]) -> Bool {
        let loadA = Int(a < inFlight.count ? max(0, inFlight[a]) : 0) &+ 1
        let loadB = Int(b < inFlight.count ? max(0, inFlight[b]) : 0) &+ 1
        let lhs = loadA.multipliedFullWidth(by: weights[b])
        let rhs = loadB.multipliedFullWidth(by: weights[a])
        return (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

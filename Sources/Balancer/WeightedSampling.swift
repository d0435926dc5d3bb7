/// Weight-proportional sampling straight over the worker's effective-weight array: two walks, no
/// prefix-sum table. Effective weights change on every slow-start step, so a table would have to
/// be rebuilt (allocated) that often; pools are small enough that a walk costs less.
///
/// A candidate is eligible when its weight is positive and `tried` does not hold it.
enum WeightedSampling {
    /// The sum of eligible weights, how many are eligible, and the last eligible index (-1 if none).
    @inline(__always)
    static func survey(_ weights: [Int], excluding tried: TriedSet) -> (total: Int, count: Int, last: Int) {
        var total = 0
        var count = 0
        var last = -1
        for i in 0..<weights.count {
            let w = weights[i]
            guard w > 0, !tried.contains(i) else { continue }
            total &+= w
            count &+= 1
            last = i
        }
        return (total, count, last)
    }

    /// The eligible index (other than `skip`) whose slice of the running sum holds `target`, for a
    /// `target` in `0..<total` of those same candidates; -1 only if `target` was out of range.
    @inline(__always)
    static func locate(_ target: Int, in weights: [Int], excluding tried: TriedSet, skipping skip: Int = -1) -> Int {
        var remaining = target
        for i in 0..<weights.count {
            let w = weights[i]
            guard w > 0, i != skip, !tried.contains(i) else { continue }
            if remaining < w { return i }
            remaining &-= w
        }
        return -1
    }

    /// One eligible index drawn with probability proportional to its weight.
    @inline(__always)
    static func draw(
        from weights: [Int], total: Int, excluding tried: TriedSet, skipping skip: Int = -1,
        using random: inout WyRand
    ) -> Int {
        let target = Int(truncatingIfNeeded: random.next(below: UInt64(total)))
        return locate(target, in: weights, excluding: tried, skipping: skip)
    }
}

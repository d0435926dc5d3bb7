/// Splits a route's new requests between its pools by weight: smooth weighted round robin, so a
/// split is exact rather than probably right — 95/5 gives exactly 5 of every 100 picks, 1/99
/// exactly 1, and 100/0 never the 0 pool. Exactness matters here more than inside a pool: a canary
/// at 1 % must get 1 %, not "0 this minute, 3 the next".
///
/// One per route per worker, owned by that worker: no locks, no allocation per pick.
public struct SplitPicker: Sendable {
    private var rotation: SmoothWeightedRoundRobin

    /// `weights`: one per pool of the route, in the route's order; any common scale.
    public init(weights: [Int]) {
        rotation = SmoothWeightedRoundRobin(weights: weights)
    }

    /// The current weights (negative ones read as 0).
    public var weights: [Int] { rotation.weights }

    public var count: Int { rotation.count }

    /// The pool for the next new request, or nil when every weight is 0.
    public mutating func pick() -> Int? {
        rotation.next()
    }

    /// The pool for the next new request among those `skipped` does not hold, or nil if none is
    /// left. A skipped pool (no usable backend, or already tried for this request) keeps its place
    /// in the rotation; the others share its turns meanwhile.
    public mutating func pick(excluding skipped: TriedSet) -> Int? {
        if skipped.isEmpty { return rotation.next() }
        return rotation.next(where: { !skipped.contains($0) })
    }

    /// The pool for the next new request among those `isEligible` accepts (for example "has a
    /// usable backend"), or nil if none is left. Same rotation rules as `pick(excluding:)`.
    public mutating func pick(where isEligible: (Int) -> Bool) -> Int? {
        rotation.next(where: isEligible)
    }

    /// New split weights (a reload, a ramp step), keeping the rotation: see
    /// `SmoothWeightedRoundRobin.setWeights(_:)`. A change of scale alone changes nothing, and a
    /// frequent small change still gives a small pool its turns.
    public mutating func setWeights(_ weights: [Int]) {
        rotation.setWeights(weights)
    }
}

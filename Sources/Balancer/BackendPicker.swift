/// Chooses a backend inside one pool, by the pool's algorithm, over the worker's **effective**
/// weights (weight × slow-start factor × usable, scaled to integers by `SlowStart.weightScale`),
/// so slow start, health and drain need nothing from the algorithms: a weight of 0 is simply
/// never picked.
///
/// One per pool per worker, owned by that worker's thread: a value type with its own rotation
/// state and its own random generator, no locks, no allocation per pick. The worker keeps the
/// effective weights and in-flight counts itself and passes them to every pick, so a slow-start
/// step or a finished request is one store into the worker's own arrays, with no call in here.
public struct BackendPicker: Sendable {
    public let kind: BalancerKind
    var rotation: SmoothWeightedRoundRobin
    var random: WyRand

    /// - Parameters:
    ///   - weights: the pool's starting effective weights; they size the rotation state. Each pick
    ///     then takes the worker's current effective weights.
    ///   - seed: this worker's seed (for example its index mixed with the process start time), so
    ///     workers do not draw the same sequence.
    public init(kind: BalancerKind, weights: [Int], seed: UInt64) {
        self.kind = kind
        self.rotation = SmoothWeightedRoundRobin(weights: weights)
        self.random = WyRand(seed: seed)
    }

    /// The index of the backend for the next request, or nil when no backend has a positive
    /// effective weight outside `tried` (the caller answers 503, or tries another pool).
    ///
    /// - Parameters:
    ///   - effectiveWeights: one entry per backend, ≤ 0 meaning "not now" (down, draining, weight 0).
    ///   - inFlight: requests in flight per backend on this worker; read only by `leastRequest`.
    ///     Missing entries count as 0.
    ///   - tried: backends this request already tried (a retry goes elsewhere).
    ///
    /// Cost: one walk over the pool for `roundRobin`, two for `random`, three for `leastRequest`;
    /// no allocation, except once when the number of backends differs from the last pick.
    public mutating func pick(effectiveWeights: [Int], inFlight: [Int32], excluding tried: TriedSet = TriedSet()) -> Int? {
        switch kind {
        case .roundRobin:
            if tried.isEmpty { return rotation.next(weights: effectiveWeights) }
            return rotation.next(weights: effectiveWeights, where: { !tried.contains($0) })
        case .random:
            return pickRandom(effectiveWeights: effectiveWeights, excluding: tried)
        case .leastRequest:
            return pickLeastRequest(effectiveWeights: effectiveWeights, inFlight: inFlight, excluding: tried)
        }
    }
}

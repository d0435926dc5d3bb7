/// What one pool answered over a window (since a step began): the difference of two readings of
/// the workers' cumulative counters. `requests` counts attempts: a request retried on another
/// backend after a failed exchange counts twice, once as an error, so a retry that hides a
/// failure from the client does not hide it from the judge.
public struct PoolSample: Sendable, Equatable {
    /// Attempts: answers of the pool's backends plus failed exchanges with them.
    public var requests: UInt64
    /// 5xx answers of the pool's backends plus failed exchanges (connect, timeout, reset, protocol).
    public var errors: UInt64
    /// Request durations: `latencyCounts[i]` requests took at most `latencyBounds[i]` ns and more
    /// than `latencyBounds[i - 1]`; the last count (one more than the bounds) is above the last
    /// bound. Empty when no latency was recorded.
    public var latencyCounts: [UInt64]

    public init(requests: UInt64 = 0, errors: UInt64 = 0, latencyCounts: [UInt64] = []) {
        self.requests = requests
        self.errors = errors
        self.latencyCounts = latencyCounts
    }

    /// `self` minus an earlier reading of the same counters (clamped at 0 per field, so a
    /// counter that went backwards — a restart — reads as nothing new rather than wrapping).
    public func since(_ earlier: PoolSample) -> PoolSample {
        func minus(_ a: UInt64, _ b: UInt64) -> UInt64 { a >= b ? a - b : 0 }
        var counts = latencyCounts
        for i in counts.indices where i < earlier.latencyCounts.count {
            counts[i] = minus(counts[i], earlier.latencyCounts[i])
        }
        return PoolSample(requests: minus(requests, earlier.requests), errors: minus(errors, earlier.errors),
                          latencyCounts: counts)
    }

    public var latencyTotal: UInt64 { latencyCounts.reduce(0, &+) }
}

/// Request durations in fixed buckets, kept per worker without atomics (only its thread writes)
/// and merged at scrape time. The bounds start at 50 µs: a proxy's own latency is sub-millisecond,
/// and a histogram whose first bucket is 5 ms (the client libraries' default) would put every
/// request of a healthy deployment in it.
public struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds (inclusive, nanoseconds) of the finite buckets; a last bucket takes the rest.
    public static let bounds: [UInt64] = [
        50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000,
        1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000, 30_000_000_000, 60_000_000_000,
    ]

    /// Per bucket, not cumulative (the exposition accumulates); the last one is +Inf.
    public private(set) var counts: [UInt64]
    public private(set) var sumNanos: UInt64 = 0

    public init() {
        counts = [UInt64](repeating: 0, count: LatencyHistogram.bounds.count + 1)
    }

    public var count: UInt64 { counts.reduce(0, &+) }

    /// A linear scan: most requests land in the first few buckets, so it ends early.
    @inline(__always)
    public mutating func record(nanoseconds: UInt64) {
        var bucket = 0
        let bounds = LatencyHistogram.bounds
        while bucket < bounds.count && nanoseconds > bounds[bucket] { bucket += 1 }
        counts[bucket] &+= 1
        sumNanos &+= nanoseconds
    }

    public static func + (a: LatencyHistogram, b: LatencyHistogram) -> LatencyHistogram {
        var sum = a
        for i in sum.counts.indices { sum.counts[i] &+= b.counts[i] }
        sum.sumNanos &+= b.sumNanos
        return sum
    }
}

/// Request durations in log-linear buckets (8 per power of two, so a bucket is at most 12.5 %
/// wide) from 8 µs to about 69 s: the resolution the canary judge needs to compare p99s with a
/// ratio like 1.3, which the exposition's 19 fixed buckets (2.5× apart) cannot give. Recording is
/// a few integer operations (no scan), kept per worker without atomics like `LatencyHistogram`.
public struct LogLinearHistogram: Sendable, Equatable {
    /// log2 of the first bucket's upper bound: values up to 2^13 ns (8.2 µs) share bucket 0.
    static let firstExponent = 13
    /// Values at or above 2^36 ns (68.7 s) share the last bucket.
    static let lastExponent = 36
    static let subBuckets = 8

    public static let bucketCount = 1 + (lastExponent - firstExponent) * subBuckets + 1

    /// Inclusive upper bounds (ns) of every bucket but the last, which takes the rest.
    public static let bounds: [UInt64] = {
        var bounds: [UInt64] = [(UInt64(1) << UInt64(firstExponent)) - 1]
        for exponent in firstExponent..<lastExponent {
            for sub in 0..<subBuckets {
                bounds.append((UInt64(subBuckets + sub + 1) << UInt64(exponent - 3)) - 1)
            }
        }
        return bounds
    }()

    public private(set) var counts: [UInt64]

    public init() {
        counts = [UInt64](repeating: 0, count: LogLinearHistogram.bucketCount)
    }

    @inline(__always)
    public static func bucket(of nanoseconds: UInt64) -> Int {
        guard nanoseconds >= UInt64(1) << UInt64(firstExponent) else { return 0 }
        let exponent = 63 - nanoseconds.leadingZeroBitCount
        guard exponent < lastExponent else { return bucketCount - 1 }
        let sub = Int(truncatingIfNeeded: nanoseconds >> UInt64(exponent - 3)) & (subBuckets - 1)
        return 1 + (exponent - firstExponent) * subBuckets + sub
    }

    @inline(__always)
    public mutating func record(nanoseconds: UInt64) {
        counts[LogLinearHistogram.bucket(of: nanoseconds)] &+= 1
    }

    public static func + (a: LogLinearHistogram, b: LogLinearHistogram) -> LogLinearHistogram {
        var sum = a
        for i in sum.counts.indices { sum.counts[i] &+= b.counts[i] }
        return sum
    }
}

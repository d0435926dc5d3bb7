import Testing
import Metrics

/// Bucket placement, sums and merging of the per-worker latency histogram.
@Suite struct LatencyHistogramTests {
    private let bounds = LatencyHistogram.bounds

    /// The bucket index `nanoseconds` lands in, read back from a fresh histogram.
    private func bucket(of nanoseconds: UInt64) -> Int? {
        var h = LatencyHistogram()
        h.record(nanoseconds: nanoseconds)
        return h.counts.firstIndex(of: 1)
    }

    @Test func boundsAreStrictlyIncreasingFromFiftyMicroseconds() {
        #expect(bounds.first == 50_000)
        #expect(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 })
        #expect(LatencyHistogram().counts.count == bounds.count + 1)
    }

    /// Bounds are inclusive (Prometheus `le`): a value exactly on a bound belongs to that bucket,
    /// one nanosecond more to the next.
    @Test func aValueOnABoundLandsInThatBucketAndOneMoreInTheNext() {
        for (i, bound) in bounds.enumerated() {
            #expect(bucket(of: bound) == i, "on bound \(bound)")
            #expect(bucket(of: bound + 1) == i + 1, "just above bound \(bound)")
        }
        #expect(bucket(of: 0) == 0)
        #expect(bucket(of: 49_999) == 0)
    }

    @Test func valuesAboveTheLastBoundGoToInf() throws {
        let inf = bounds.count
        #expect(bucket(of: try #require(bounds.last) + 1) == inf)
        #expect(bucket(of: 3_600 * 1_000_000_000) == inf)
        #expect(bucket(of: .max) == inf)
    }

    @Test func countAndSumFollowEveryRecord() {
        var h = LatencyHistogram()
        #expect(h.count == 0 && h.sumNanos == 0)
        for value: UInt64 in [10, 50_000, 70_000, 2_000_000_000, 90_000_000_000] { h.record(nanoseconds: value) }
        #expect(h.count == 5)
        #expect(h.sumNanos == 10 + 50_000 + 70_000 + 2_000_000_000 + 90_000_000_000)
        // 10 and 50 µs share the first bucket; the rest are one each.
        #expect(h.counts[0] == 2 && h.counts[1] == 1 && h.counts[bounds.firstIndex(of: 2_500_000_000) ?? -1] == 1)
        #expect(h.counts.last == 1)
    }

    @Test func plusMergesBucketByBucket() {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        a.record(nanoseconds: 40_000)
        a.record(nanoseconds: 1_000_000)
        b.record(nanoseconds: 30_000)
        b.record(nanoseconds: 100_000_000_000)
        let merged = a + b
        #expect(merged.counts == zip(a.counts, b.counts).map { $0 + $1 })
        #expect(merged.counts[0] == 2 && merged.counts.last == 1)
        #expect(merged.count == 4)
        #expect(merged.sumNanos == a.sumNanos + b.sumNanos)
        #expect(a + LatencyHistogram() == a)
        #expect(b + a == merged)
    }
}

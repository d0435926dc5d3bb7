import Glibc
@testable import Rollout

/// splitmix64: a small deterministic generator for the simulations (same seed, same run).
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    mutating func uniform() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1p-53
    }

    /// An exact Bin(n, p) draw: inversion from 0 for small means, else inversion searching
    /// outwards from the mode (cost ~ the draw's distance from the mode).
    mutating func binomial(_ n: UInt64, _ p: Double) -> UInt64 {
        if n == 0 || p <= 0 { return 0 }
        if p >= 1 { return n }
        if p > 0.5 { return n - binomial(n, 1 - p) }
        let q = 1 - p, nd = Double(n), mean = nd * p
        var u = uniform()
        if mean < 15 {
            var pmf = exp(nd * log1p(-p)), k: UInt64 = 0
            while u > pmf && k < n {
                u -= pmf
                pmf *= (nd - Double(k)) / Double(k + 1) * p / q
                k += 1
            }
            return k
        }
        let mode = UInt64(((nd + 1) * p).rounded(.down))
        let pm = exp(BinomialTail.logPMF(n: n, p: p, k: mode))
        u -= pm
        if u <= 0 { return mode }
        var lo = mode, hi = mode, plo = pm, phi = pm
        while lo > 0 || hi < n {
            if lo > 0 {
                plo *= Double(lo) * q / ((nd - Double(lo) + 1) * p)
                lo -= 1
                u -= plo
                if u <= 0 { return lo }
            }
            if hi < n {
                phi *= (nd - Double(hi)) * p / (Double(hi + 1) * q)
                hi += 1
                u -= phi
                if u <= 0 { return hi }
            }
            if plo < 1e-300 && phi < 1e-300 { break }
        }
        return mode
    }

    /// A standard normal draw (Box–Muller).
    mutating func normal() -> Double {
        sqrt(-2 * log(uniform())) * cos(2 * Double.pi * uniform())
    }
}

/// The production histogram scheme: 8 log-linear sub-buckets per power of two, bounds from
/// 2^14 ns (≈ 16 µs) to 2^36 ns (≈ 69 s).
enum JudgeHistogram {
    static let bounds: [UInt64] = {
        var out: [UInt64] = [1 << 14]
        for e in 14..<36 {
            let base: UInt64 = 1 << UInt64(e)
            for s in 1...8 { out.append(base + UInt64(s) * base / 8) }
        }
        return out
    }()

    static func empty() -> [UInt64] { [UInt64](repeating: 0, count: bounds.count + 1) }

    /// Index of the bucket holding `ns`: the first bound ≥ ns, or the overflow.
    static func bucket(_ ns: UInt64) -> Int {
        var lo = 0, hi = bounds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bounds[mid] >= ns { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    static func record(_ ns: UInt64, into counts: inout [UInt64]) {
        counts[bucket(ns)] += 1
    }

    static func record(_ values: [UInt64]) -> [UInt64] {
        var counts = empty()
        for v in values { record(v, into: &counts) }
        return counts
    }
}

/// A latency distribution over the histogram's buckets, sampled a multinomial at a time.
///
/// Only the buckets above `lumpBelow` (p95 by default, well under the checked p99) are sampled one by
/// one; the mass below is put in one bucket (the one holding that quantile). The judge's p99
/// decisions and its p99 figures depend on the counts above that point only, so this is exact
/// for them and an order of magnitude cheaper than sampling every bucket.
struct LatencyModel {
    /// (bucket, probability), largest buckets first.
    var tail: [(Int, Double)]
    var lumpBucket: Int

    /// A mixture of lognormals: (weight, median ns, σ of the log, shift ns).
    init(components: [(weight: Double, median: Double, sigma: Double, shift: Double)], lumpBelow: Double = 0.95) {
        func cdf(_ x: Double) -> Double {
            var total = 0.0
            for c in components where x > c.shift {
                let z = (log(x - c.shift) - log(c.median)) / c.sigma
                total += c.weight * 0.5 * erfc(-z / 2.0.squareRoot())
            }
            return total
        }
        let bounds = JudgeHistogram.bounds
        var probabilities: [Double] = []
        var previous = 0.0
        for b in bounds {
            let c = cdf(Double(b))
            probabilities.append(max(c - previous, 0))
            previous = c
        }
        probabilities.append(max(1 - previous, 0))
        var lump = 0
        var cumulative = 0.0
        for (i, p) in probabilities.enumerated() {
            cumulative += p
            if cumulative >= lumpBelow { lump = i; break }
        }
        lumpBucket = lump
        tail = []
        for i in stride(from: probabilities.count - 1, to: lump, by: -1) where probabilities[i] > 1e-13 {
            tail.append((i, probabilities[i]))
        }
    }

    static func lognormal(median: Double, sigma: Double) -> LatencyModel {
        LatencyModel(components: [(1, median, sigma, 0)])
    }

    /// Adds `n` requests' latencies to `counts`.
    func sample(_ n: UInt64, into counts: inout [UInt64], rng: inout SplitMix64) {
        var remaining = n, rest = 1.0
        for (i, p) in tail where remaining > 0 {
            let x = rng.binomial(remaining, min(p / rest, 1))
            counts[i] += x
            remaining -= x
            rest -= p
        }
        counts[lumpBucket] += remaining
    }
}

/// One pool's behaviour in a simulation.
struct PoolModel {
    var errorRate: Double
    var latency: LatencyModel
}

/// A rollout simulated as looks every interval over growing per-step counts: steps of
/// `lookPerStep` looks, the counters reset when a step begins, the look index running over the
/// whole rollout, the canary rolled back at the first `fail`.
struct RolloutSimulation {
    var steps: [Int] = [1, 5, 25, 50]
    var requestsPerSecond: Double = 1000
    var intervalSeconds: Double = 10
    var looksPerStep = 30

    struct Outcome {
        /// Look (1-based over the rollout) of the first fail, nil if none.
        var failedAtLook: Int?
        /// Canary requests over the whole rollout up to the failing look (or the end).
        var canaryRequests: UInt64
        var judgement: Judgement?
        var verdicts: [Verdict]
    }

    func run(judge: CanaryJudge, canary: PoolModel, baseline: PoolModel, rng: inout SplitMix64) -> Outcome {
        var look = 0
        var spent: UInt64 = 0
        var verdicts: [Verdict] = []
        for share in steps {
            let perLookCanary = UInt64((requestsPerSecond * intervalSeconds * Double(share) / 100).rounded())
            let perLookBaseline = UInt64((requestsPerSecond * intervalSeconds).rounded()) - perLookCanary
            var c = PoolSample(latencyCounts: JudgeHistogram.empty())
            var b = PoolSample(latencyCounts: JudgeHistogram.empty())
            for _ in 0..<looksPerStep {
                add(perLookCanary, model: canary, to: &c, rng: &rng)
                add(perLookBaseline, model: baseline, to: &b, rng: &rng)
                spent += perLookCanary
                look += 1
                let j = judge.judge(canary: c, baseline: b, look: look)
                verdicts.append(j.verdict)
                if j.verdict == .fail {
                    return Outcome(failedAtLook: look, canaryRequests: spent, judgement: j, verdicts: verdicts)
                }
            }
        }
        return Outcome(failedAtLook: nil, canaryRequests: spent, judgement: nil, verdicts: verdicts)
    }

    private func add(_ n: UInt64, model: PoolModel, to sample: inout PoolSample, rng: inout SplitMix64) {
        sample.requests += n
        sample.errors += rng.binomial(n, model.errorRate)
        model.latency.sample(n, into: &sample.latencyCounts, rng: &rng)
    }
}

extension Array where Element == UInt64 {
    var median: UInt64 {
        guard !isEmpty else { return 0 }
        let s = sorted()
        return s[s.count / 2]
    }
}

/// Percent text for printed figures ("0.3 %").
func judgePercent(_ part: Int, of whole: Int) -> String {
    JudgeFormat.percent(whole > 0 ? Double(part) / Double(whole) : 0)
}

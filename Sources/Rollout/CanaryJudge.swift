import Glibc

/// The statistical judge of a canary step: compares what the canary pool and the baseline pool
/// answered since the step began and says `pass`, `fail` or `insufficient`. Pure and
/// deterministic: no clock, no I/O, no randomness.
///
/// ## Validity over repeated looks
/// The false-failure budget α = 1 − confidence is spent over looks: look k (1-based, counted
/// over the whole rollout, only looks that saw new canary data) gets α_k = α·6/(π²k²), and
/// Σ α_k = α. Each look runs fixed-sample tests at level α_k, so by the union bound a canary
/// that meets its thresholds is failed at some look of the rollout with probability at most α,
/// however often it is looked at and however the looks depend on each other (they share data).
/// Within a look, α_k is split evenly over the enabled tests (error-rate relative, error-rate
/// absolute, latency relative, latency absolute): each runs at δ = α_k / m.
///
/// Failing needs evidence only, not `minRequests`: a canary failing all of its first handful of
/// requests fails at once (the spending keeps that valid). Passing needs `minRequests` canary
/// requests and no failing test. Relative tests need `minRequests` baseline requests, else they
/// are not judged (the check is insufficient) while the absolute guards still are.
///
/// ## Error rate (errors and requests count attempts)
/// - Relative: the canary fails only when it is significantly worse than BOTH `maxRatio` × p_b
///   and p_b + `maxIncrease` (an intersection–union test: each part at the full δ, since the
///   canary is failed only when both reject; a missing part is not required).
///   - Ratio: the conditional test. Given E = e_c + e_b errors, under p_c = r·p_b the canary's
///     share of them is Bin(E, π₀), π₀ = r·n_c / (r·n_c + n_b); the p-value P(Bin(E, π₀) ≥ e_c) is
///     computed exactly (`BinomialTail`). It is exact for rare errors (Poisson counts), and for
///     binomial counts the true conditional law (Fisher's non-central hypergeometric) has the
///     same centre and a lighter upper tail, so it stays conservative. It needs no baseline
///     error: 5 / 500 against 0 / 50,000 fails.
///   - Increase: Clopper–Pearson lower bound of p_c (at δ/2) minus Clopper–Pearson upper bound
///     of p_b (at δ/2) above `maxIncrease`.
/// - Absolute guard `max`: the Clopper–Pearson lower bound of p_c at δ is above `max`. A canary
///   and a baseline equally bad (a shared dependency down) pass the relative test and fail only
///   this one.
///
/// ## Latency (quantile q, `maxRatio` r, absolute `max` M)
/// - Relative: U = an upper confidence bound (δ/2) of the baseline's q-quantile from its
///   histogram — the upper edge of the bucket holding the j-th smallest request, j the least
///   rank with P(Bin(n_b, q) ≥ j) ≤ δ/2 (`BinomialBound.upperQuantileRank`). T = r·U. The
///   canary's exceedances x count only buckets whose lower edge is ≥ T (never a request that
///   might be ≤ T). Under the null (canary's q-quantile ≤ r × baseline's) each canary request is
///   above T with probability ≤ 1 − q once U holds, so the canary fails when P(Bin(n_c, 1 − q) ≥
///   x) ≤ δ/2 (the exact lower bound of x/n_c is above 1 − q).
/// - Absolute: the same with T = M, at δ.
/// - Reported values are the q-quantiles interpolated inside their bucket, in seconds; the
///   threshold is the T the canary was held to (the smaller of r·U and M), in seconds.
///
/// Latency histograms: `latencyCounts[i]` counts requests in (bounds[i − 1], bounds[i]] (from 0
/// for i = 0); counts at index ≥ bounds.count are above the last bound.
public struct CanaryJudge: Sendable {
    public let policy: RolloutPolicy
    public let latencyBounds: [UInt64]

    /// `latencyBounds`: the increasing upper bounds (ns) of `PoolSample.latencyCounts`' buckets;
    /// the last count is above the last bound.
    public init(policy: RolloutPolicy, latencyBounds: [UInt64]) {
        self.policy = policy
        self.latencyBounds = latencyBounds
        self.edges = latencyBounds.map { Double($0) }
    }

    /// `latencyBounds` as Doubles.
    private let edges: [Double]

    /// α = 1 − confidence (kept inside (0, 1)).
    public var totalAlpha: Double {
        min(max(1 - policy.confidence, 1e-15), 1)
    }

    /// The share of α spent at look `look` (1-based): α·6/(π²k²), which sums to α over all looks.
    public func alpha(forLook look: Int) -> Double {
        let k = Double(max(look, 1))
        return totalAlpha * 6 / (Double.pi * Double.pi * k * k)
    }

    /// How many tests a look runs (α_k is split evenly between them): error-rate relative and
    /// absolute, latency relative and absolute, as configured.
    var testsPerLook: Int {
        var m = 0
        if let e = policy.errorRate {
            if e.maxRatio != nil || e.maxIncrease != nil { m += 1 }
            if e.max != nil { m += 1 }
        }
        if let l = policy.latency {
            if l.maxRatio != nil { m += 1 }
            if l.max != nil { m += 1 }
        }
        return max(m, 1)
    }

    private var minRequests: UInt64 { UInt64(max(policy.minRequests, 0)) }

    /// `look`: 1-based count of the looks in this whole rollout that saw new canary data. The
    /// false-failure budget α = 1 − confidence is spent over looks so the whole rollout, looked at
    /// any number of times, fails a canary that meets its thresholds with probability ≤ α.
    public func judge(canary: PoolSample, baseline: PoolSample, look: Int) -> Judgement {
        let needed = "\(JudgeFormat.count(canary.requests)) of \(JudgeFormat.count(minRequests)) canary requests needed"
        if canary.requests == 0 {
            var checks: [CheckResult] = []
            if policy.errorRate != nil {
                checks.append(CheckResult(check: "error_rate", verdict: .insufficient, canary: nil,
                                          baseline: rate(baseline), threshold: nil, reason: needed))
            }
            if policy.latency != nil {
                checks.append(CheckResult(check: "latency", verdict: .insufficient, canary: nil,
                                          baseline: nil, threshold: nil, reason: needed))
            }
            return Judgement(verdict: .insufficient, checks: checks, reason: needed)
        }
        let delta = alpha(forLook: look) / Double(testsPerLook)
        var checks: [CheckResult] = []
        if let check = policy.errorRate {
            checks.append(errorRate(check, canary: canary, baseline: baseline, delta: delta).result)
        }
        if let check = policy.latency {
            checks.append(latency(check, canary: canary, baseline: baseline, delta: delta).result)
        }
        if let failing = checks.first(where: { $0.verdict == .fail }) {
            return Judgement(verdict: .fail, checks: checks, reason: failing.reason)
        }
        if canary.requests < minRequests {
            return Judgement(verdict: .insufficient, checks: checks, reason: needed)
        }
        if let waiting = checks.first(where: { $0.verdict == .insufficient }) {
            return Judgement(verdict: .insufficient, checks: checks, reason: waiting.reason)
        }
        let reason = checks.isEmpty
            ? "\(JudgeFormat.count(canary.requests)) canary requests, no checks configured"
            : checks.map(\.reason).joined(separator: "; ")
        return Judgement(verdict: .pass, checks: checks, reason: reason)
    }

    private func rate(_ sample: PoolSample) -> Double? {
        sample.requests > 0 ? Double(min(sample.errors, sample.requests)) / Double(sample.requests) : nil
    }

    // MARK: - Error rate

    /// How one part of a check (relative or absolute) came out.
    enum PartOutcome: Sendable, Equatable {
        case notConfigured
        /// Configured, but without the data to judge it (baseline below `minRequests`, …).
        case notJudged
        case passed
        case failed
    }

    struct ErrorRateAnalysis: Sendable, Equatable {
        var relative: PartOutcome
        var absolute: PartOutcome
        var result: CheckResult
    }

    func errorRate(_ check: RolloutPolicy.ErrorRateCheck, canary: PoolSample, baseline: PoolSample,
                   delta: Double) -> ErrorRateAnalysis {
        let nc = canary.requests, ec = min(canary.errors, nc)
        let nb = baseline.requests, eb = min(baseline.errors, nb)
        let pc = rate(canary), pb = rate(baseline)

        var relative = PartOutcome.notConfigured
        if check.maxRatio != nil || check.maxIncrease != nil {
            if nc == 0 || nb == 0 || nb < minRequests {
                relative = .notJudged
            } else {
                var fails = true
                if let r = check.maxRatio {
                    fails = Self.ratioExceeded(errors: ec, requests: nc, baselineErrors: eb, baselineRequests: nb,
                                               maxRatio: r, delta: delta)
                }
                if fails, let d = check.maxIncrease {
                    fails = Self.increaseExceeded(errors: ec, requests: nc, baselineErrors: eb,
                                                  baselineRequests: nb, maxIncrease: d, delta: delta)
                }
                relative = fails ? .failed : .passed
            }
        }

        var absolute = PartOutcome.notConfigured
        if let m = check.max {
            if nc == 0 {
                absolute = .notJudged
            } else {
                let fails = m < 1 && ec > 0 && BinomialTail.upperTail(n: nc, p: max(m, 0), k: ec, isAtMost: delta)
                absolute = fails ? .failed : .passed
            }
        }

        // The effective limit: the larger of the relative limits (the canary must exceed both),
        // or the absolute guard when it is lower.
        var relativeLimit: Double?
        if relative == .passed || relative == .failed, let pb {
            relativeLimit = Swift.max(check.maxRatio.map { $0 * pb } ?? 0, check.maxIncrease.map { pb + $0 } ?? 0)
        }
        var threshold = relativeLimit
        if let m = check.max { threshold = Swift.min(threshold ?? m, m) }

        let f = JudgeFormat.self
        let comparison: String
        if let pc, let pb {
            comparison = "error rate \(f.percent(pc)) vs baseline \(f.percent(pb)) over \(f.count(nc)) / \(f.count(nb)) requests"
        } else {
            comparison = "error rate \(f.percent(pc ?? 0)) over \(f.count(nc)) requests (no baseline requests)"
        }
        let limit = threshold.map { " (limit \(f.percent($0, trim: true)))" } ?? ""

        let verdict: Verdict
        let reason: String
        if relative == .failed, let relativeLimit {
            verdict = .fail
            var text = comparison + " (limit \(f.percent(relativeLimit, trim: true))"
            if absolute == .failed, let m = check.max { text += "; over the absolute limit \(f.percent(m, trim: true)) too" }
            reason = text + ")"
        } else if absolute == .failed, let m = check.max {
            verdict = .fail
            var sides = "canary \(f.count(ec)) / \(f.count(nc))"
            if nb > 0 {
                sides += ", baseline \(f.count(eb)) / \(f.count(nb))"
                if let pb, pb > m { sides += ": both sides are failing" }
            } else {
                sides += ", no baseline requests"
            }
            reason = "error rate \(f.percent(pc ?? 0)) over the absolute limit \(f.percent(m, trim: true)) (\(sides))"
        } else if nc < minRequests {
            verdict = .insufficient
            reason = "\(f.count(nc)) of \(f.count(minRequests)) canary requests needed"
        } else if relative == .notJudged {
            verdict = .insufficient
            reason = "\(f.count(nb)) of \(f.count(minRequests)) baseline requests needed to compare error rates"
        } else {
            verdict = .pass
            reason = comparison + limit
        }
        let result = CheckResult(check: "error_rate", verdict: verdict, canary: pc, baseline: pb,
                                 threshold: threshold, reason: reason)
        return ErrorRateAnalysis(relative: relative, absolute: absolute, result: result)
    }

    /// The ratio part: whether, given the E = e_c + e_b errors of both sides, the canary holds
    /// significantly more of them than it would if p_c = r·p_b: P(Bin(E, π₀) ≥ e_c) ≤ δ with
    /// π₀ = r·n_c / (r·n_c + n_b).
    static func ratioExceeded(errors ec: UInt64, requests nc: UInt64, baselineErrors eb: UInt64,
                              baselineRequests nb: UInt64, maxRatio r: Double, delta: Double) -> Bool {
        guard ec > 0 else { return false }
        let weighted = Swift.max(r, 0) * Double(nc)
        let share = weighted / (weighted + Double(nb))
        return BinomialTail.upperTail(n: ec + eb, p: share, k: ec, isAtMost: delta)
    }

    /// The increase part: whether the canary's lower bound minus the baseline's upper bound (each
    /// Clopper–Pearson at δ/2) is above `maxIncrease`.
    static func increaseExceeded(errors ec: UInt64, requests nc: UInt64, baselineErrors eb: UInt64,
                                 baselineRequests nb: UInt64, maxIncrease d: Double, delta: Double) -> Bool {
        guard ec > 0, nc > 0, nb > 0 else { return false }
        // Bounds lie outside the point estimates: no chance unless the estimates differ by more.
        if Double(ec) / Double(nc) - Double(eb) / Double(nb) <= d { return false }
        let upper = BinomialBound.clopperPearsonUpper(successes: eb, trials: nb, delta: delta / 2)
        let limit = upper + Swift.max(d, 0)
        guard limit < 1 else { return false }
        // Lower bound of p_c above `limit` ⇔ P(Bin(n_c, limit) ≥ e_c) ≤ δ/2.
        return BinomialTail.upperTail(n: nc, p: limit, k: ec, isAtMost: delta / 2)
    }

    // MARK: - Latency

    struct LatencyAnalysis: Sendable, Equatable {
        var relative: PartOutcome
        var absolute: PartOutcome
        var result: CheckResult
    }

    /// A pool's latency counts with one bucket per bound plus the overflow (longer arrays fold
    /// into the overflow; shorter ones are missing buckets at the top, zero), and their total.
    struct Histogram {
        var counts: [UInt64]
        var total: UInt64
    }

    func histogram(_ counts: [UInt64]) -> Histogram {
        let size = edges.count + 1
        var folded = counts
        if counts.count != size {
            folded = [UInt64](repeating: 0, count: size)
            for i in counts.indices { folded[Swift.min(i, size - 1)] &+= counts[i] }
        }
        let total = folded.withUnsafeBufferPointer { buffer in
            var total: UInt64 = 0
            for i in 0..<buffer.count { total &+= buffer[i] }
            return total
        }
        return Histogram(counts: folded, total: total)
    }

    /// Upper edge of bucket i in ns (∞ for the overflow).
    func upperEdge(_ i: Int) -> Double {
        i < edges.count ? edges[i] : .infinity
    }

    /// Lower edge of bucket i in ns (0 for the first).
    func lowerEdge(_ i: Int) -> Double {
        i == 0 ? 0 : edges[i - 1]
    }

    /// The lowest bucket whose cumulative count reaches `rank` (> 0), with the count below it.
    /// Scanned from the top: the judged quantiles are high ones.
    func bucket(_ h: Histogram, reaching rank: Double) -> (index: Int, below: UInt64) {
        h.counts.withUnsafeBufferPointer { counts in
            var above: UInt64 = 0
            var i = counts.count - 1
            while i >= 0 {
                let c = counts[i]
                if c > 0 {
                    let below = h.total - above - c
                    if Double(below) < rank { return (i, below) }
                    above += c
                }
                i -= 1
            }
            return (0, 0)
        }
    }

    /// The q-quantile interpolated linearly inside its bucket (the overflow reads as its lower
    /// edge), in ns; nil without data.
    func interpolatedQuantile(_ h: Histogram, _ q: Double) -> Double? {
        guard h.total > 0 else { return nil }
        let rank = Swift.max(q * Double(h.total), Double.leastNonzeroMagnitude)
        let (i, below) = bucket(h, reaching: rank)
        let upper = upperEdge(i), lower = lowerEdge(i)
        guard upper.isFinite else { return lower }
        let within = Swift.min(Swift.max((rank - Double(below)) / Double(h.counts[i]), 0), 1)
        return lower + within * (upper - lower)
    }

    /// Requests in buckets whose lower edge is ≥ `threshold` (each surely above it).
    func exceedances(_ h: Histogram, above threshold: Double) -> UInt64 {
        // The first bound ≥ threshold: the buckets after it are the ones counted.
        var lo = 0, hi = edges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if edges[mid] >= threshold { hi = mid } else { lo = mid + 1 }
        }
        return h.counts.withUnsafeBufferPointer { counts in
            var x: UInt64 = 0
            var i = lo + 1
            while i < counts.count {
                x += counts[i]
                i += 1
            }
            return x
        }
    }

    func latency(_ check: RolloutPolicy.LatencyCheck, canary: PoolSample, baseline: PoolSample,
                 delta: Double) -> LatencyAnalysis {
        let cc = histogram(canary.latencyCounts), bc = histogram(baseline.latencyCounts)
        let nc = cc.total, nb = bc.total
        let q = Swift.min(Swift.max(check.quantile, 1e-9), 1 - 1e-9)
        let exceedProbability = 1 - q
        let canaryQuantile = interpolatedQuantile(cc, q), baselineQuantile = interpolatedQuantile(bc, q)
        let f = JudgeFormat.self
        let name = f.quantileName(check.quantile)

        var relative = PartOutcome.notConfigured
        var relativeLimit: Double?
        var relativeExceedances: UInt64 = 0
        var tooFewToBound = false
        if let r = check.maxRatio {
            if nc == 0 || nb == 0 || nb < minRequests {
                relative = .notJudged
            } else if let j = BinomialBound.upperQuantileRank(count: nb, quantile: q, delta: delta / 2) {
                let limit = Swift.max(r, 0) * upperEdge(bucket(bc, reaching: Double(j)).index)
                relativeLimit = limit
                if limit.isFinite {
                    relativeExceedances = exceedances(cc, above: limit)
                    let fails = relativeExceedances > 0
                        && BinomialTail.upperTail(n: nc, p: exceedProbability, k: relativeExceedances, isAtMost: delta / 2)
                    relative = fails ? .failed : .passed
                } else {
                    relative = .passed
                }
            } else {
                relative = .notJudged
                tooFewToBound = true
            }
        }

        var absolute = PartOutcome.notConfigured
        var absoluteExceedances: UInt64 = 0
        if let m = check.max {
            if nc == 0 {
                absolute = .notJudged
            } else {
                absoluteExceedances = exceedances(cc, above: Double(m))
                let fails = absoluteExceedances > 0
                    && BinomialTail.upperTail(n: nc, p: exceedProbability, k: absoluteExceedances, isAtMost: delta)
                absolute = fails ? .failed : .passed
            }
        }

        var threshold: Double? = relativeLimit.flatMap { $0.isFinite ? $0 : nil }
        if let m = check.max { threshold = Swift.min(threshold ?? Double(m), Double(m)) }

        func ms(_ ns: Double?) -> String { ns.map { f.duration(nanoseconds: $0) } ?? "none" }
        let comparison = "\(name) \(ms(canaryQuantile)) vs baseline \(ms(baselineQuantile))"

        let verdict: Verdict
        let reason: String
        if relative == .failed, let limit = relativeLimit {
            verdict = .fail
            var text = "\(comparison) (limit \(ms(limit)): \(f.count(relativeExceedances)) of \(f.count(nc)) canary requests above it"
            if absolute == .failed, let m = check.max { text += "; over the absolute limit \(ms(Double(m))) too" }
            reason = text + ")"
        } else if absolute == .failed, let m = check.max {
            verdict = .fail
            var text = "\(name) \(ms(canaryQuantile)) over the absolute limit \(ms(Double(m))) (\(f.count(absoluteExceedances)) of \(f.count(nc)) canary requests above it, baseline \(ms(baselineQuantile))"
            if let b = baselineQuantile, b > Double(m) { text += ": both sides are failing" }
            reason = text + ")"
        } else if canary.requests < minRequests {
            verdict = .insufficient
            reason = "\(f.count(canary.requests)) of \(f.count(minRequests)) canary requests needed"
        } else if nc == 0 {
            verdict = .insufficient
            reason = "no canary latency recorded"
        } else if tooFewToBound {
            verdict = .insufficient
            reason = "\(f.count(nb)) baseline requests are too few to bound its \(name) yet"
        } else if relative == .notJudged {
            verdict = .insufficient
            reason = "\(f.count(nb)) of \(f.count(minRequests)) baseline requests needed to compare \(name)"
        } else {
            verdict = .pass
            reason = comparison + (threshold.map { " (limit \(ms($0)))" } ?? "")
        }
        let result = CheckResult(check: "latency", verdict: verdict, canary: canaryQuantile.map { $0 / 1e9 },
                                 baseline: baselineQuantile.map { $0 / 1e9 }, threshold: threshold.map { $0 / 1e9 },
                                 reason: reason)
        return LatencyAnalysis(relative: relative, absolute: absolute, result: result)
    }
}

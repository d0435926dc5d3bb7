import Glibc

/// Exact binomial tail probabilities, computed in log space so that counts in the millions and
/// tails far below 1e-300 stay exact to double precision.
///
/// A tail is summed term by term from its first term, each term got from the previous one by the
/// ratio pmf(i + 1) / pmf(i); the summation stops when a geometric bound on what is left (the
/// ratios only shrink going outwards) is negligible. The decision form `upperTail(…, isAtMost:)`
/// also stops as soon as the answer is known, after a Chernoff screen and a first-term screen,
/// so a judge's look costs a handful of terms in the common case.
public enum BinomialTail {
    /// log P(Bin(n, p) = k).
    public static func logPMF(n: UInt64, p: Double, k: UInt64) -> Double {
        Parameter(p).logPMF(n: n, k: k)
    }

    /// log P(Bin(n, p) ≥ k).
    public static func logUpperTail(n: UInt64, p: Double, k: UInt64) -> Double {
        Parameter(p).logUpperTail(n: n, k: k)
    }

    /// P(Bin(n, p) ≥ k).
    public static func upperTail(n: UInt64, p: Double, k: UInt64) -> Double {
        exp(logUpperTail(n: n, p: p, k: k))
    }

    /// P(Bin(n, p) ≤ k).
    public static func lowerTail(n: UInt64, p: Double, k: UInt64) -> Double {
        guard k < n else { return 1 }
        return exp(Parameter(p).flipped.logUpperTail(n: n, k: n - k))
    }

    /// Whether P(Bin(n, p) ≥ k) ≤ alpha, exactly (up to rounding), usually without summing the tail.
    public static func upperTail(n: UInt64, p: Double, k: UInt64, isAtMost alpha: Double) -> Bool {
        Parameter(p).upperTail(n: n, k: k, isAtMost: alpha)
    }

    /// Whether P(Bin(n, p) ≤ k) ≤ alpha.
    public static func lowerTail(n: UInt64, p: Double, k: UInt64, isAtMost alpha: Double) -> Bool {
        guard k < n else { return alpha >= 1 }
        return Parameter(p).flipped.upperTail(n: n, k: n - k, isAtMost: alpha)
    }

    /// Kullback–Leibler divergence of Bernoulli(x) from Bernoulli(p), in nats.
    public static func kl(_ x: Double, _ p: Double) -> Double {
        func term(_ a: Double, _ b: Double) -> Double {
            if a <= 0 { return 0 }
            if b <= 0 { return .infinity }
            return a * log(a / b)
        }
        return max(0, term(x, p) + term(1 - x, 1 - p))
    }

    /// log of n choose k.
    static func logChoose(_ n: UInt64, _ k: UInt64) -> Double {
        logGamma(Double(n) + 1) - logGamma(Double(k) + 1) - logGamma(Double(n - k) + 1)
    }

    /// lgamma without the global `signgam` write (arguments here are ≥ 1, so the sign is +).
    static func logGamma(_ x: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    /// A success probability with its complement, each kept exactly (1 − p loses p's low bits when
    /// p is tiny, so a flipped distribution keeps the original pair the other way round).
    struct Parameter {
        var p: Double
        var q: Double

        init(_ p: Double) {
            self.p = min(max(p, 0), 1)
            self.q = 1 - self.p
        }

        init(p: Double, q: Double) {
            self.p = p
            self.q = q
        }

        var flipped: Parameter { Parameter(p: q, q: p) }

        func logPMF(n: UInt64, k: UInt64) -> Double {
            guard k <= n else { return -.infinity }
            if p <= 0 { return k == 0 ? 0 : -.infinity }
            if q <= 0 { return k == n ? 0 : -.infinity }
            let kd = Double(k), rest = Double(n - k)
            return logChoose(n, k) + (kd == 0 ? 0 : kd * log(p)) + (rest == 0 ? 0 : rest * log(q))
        }

        /// Sums pmf(i) / pmf(k) for i ≥ k, where k > n·p (so every ratio is below 1 and shrinking).
        /// With `target`, returns as soon as the sum is known to be above it (returns a value above
        /// it) or known to stay at most it (returns a value at most it).
        func relativeUpperSum(n: UInt64, k: UInt64, target: Double = .infinity) -> Double {
            let odds = p / q, nd = Double(n)
            var i = Double(k), term = 1.0, sum = 1.0
            while i < nd {
                let ratio = (nd - i) / (i + 1) * odds
                term *= ratio
                sum += term
                i += 1
                // Later ratios are at most `ratio`, so what is left is at most term·ratio/(1 − ratio).
                let left = ratio < 1 ? term * ratio / (1 - ratio) : .infinity
                if target.isFinite {
                    if sum > target { return sum }
                    if sum + left <= target { return sum }
                }
                if left <= sum * 1e-17 || term == 0 { break }
            }
            return sum
        }

        func logUpperTail(n: UInt64, k: UInt64) -> Double {
            if k == 0 { return 0 }
            if k > n || p <= 0 { return -.infinity }
            if q <= 0 { return 0 }
            if Double(k) > Double(n) * p {
                return logPMF(n: n, k: k) + log(relativeUpperSum(n: n, k: k))
            }
            // P(X ≥ k) = 1 − P(X ≤ k − 1), the lower tail summed downwards from k − 1 < n·p.
            let lower = flipped.logPMF(n: n, k: n - (k - 1)) + log(flipped.relativeUpperSum(n: n, k: n - (k - 1)))
            return log1p(-min(exp(lower), 1))
        }

        func upperTail(n: UInt64, k: UInt64, isAtMost alpha: Double) -> Bool {
            if alpha >= 1 { return true }
            if k == 0 { return false }
            if k > n || p <= 0 { return true }
            if q <= 0 { return false }
            let nd = Double(n), kd = Double(k)
            if kd <= nd * p {
                // k ≤ ⌊n·p⌋ ≤ the median, so the tail is at least 1/2.
                if alpha < 0.5 { return false }
                return logUpperTail(n: n, k: k) <= log(alpha)
            }
            let logAlpha = log(alpha)
            // Chernoff: P(X ≥ k) ≤ exp(−n·KL(k/n ‖ p)).
            if -nd * BinomialTail.kl(kd / nd, p) <= logAlpha - 1e-9 { return true }
            let logFirst = logPMF(n: n, k: k)
            if logFirst > logAlpha { return false }
            let target = exp(logAlpha - logFirst)
            return relativeUpperSum(n: n, k: k, target: target) <= target
        }
    }
}

/// One-sided confidence bounds for a binomial proportion from x successes in n trials, and for
/// a quantile from order statistics.
public enum BinomialBound {
    /// Clopper–Pearson (exact) lower bound at level δ: the p where P(Bin(n, p) ≥ x) = δ, so
    /// P(bound > true p) ≤ δ. Bisection, rounded down (conservative).
    public static func clopperPearsonLower(successes x: UInt64, trials n: UInt64, delta: Double) -> Double {
        guard n > 0, x > 0 else { return 0 }
        let x = min(x, n)
        if x == n { return exp(log(delta) / Double(n)) }
        var lo = klLower(successes: x, trials: n, delta: delta), hi = Double(x) / Double(n)
        for _ in 0..<200 where hi - lo > 1e-12 * hi {
            let mid = 0.5 * (lo + hi)
            if BinomialTail.upperTail(n: n, p: mid, k: x, isAtMost: delta) { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// Clopper–Pearson (exact) upper bound at level δ: the p where P(Bin(n, p) ≤ x) = δ, so
    /// P(bound < true p) ≤ δ. Bisection, rounded up (conservative).
    public static func clopperPearsonUpper(successes x: UInt64, trials n: UInt64, delta: Double) -> Double {
        guard n > 0 else { return 1 }
        let x = min(x, n)
        if x == n { return 1 }
        if x == 0 { return -expm1(log(delta) / Double(n)) }
        var lo = Double(x) / Double(n), hi = klUpper(successes: x, trials: n, delta: delta)
        for _ in 0..<200 where hi - lo > 1e-12 * hi {
            let mid = 0.5 * (lo + hi)
            if BinomialTail.lowerTail(n: n, p: mid, k: x, isAtMost: delta) { hi = mid } else { lo = mid }
        }
        return hi
    }

    /// Chernoff (KL) lower bound: the least p with n·KL(x/n ‖ p) ≤ log(1/δ). Valid, looser than
    /// Clopper–Pearson, closed-form enough to be cheap; it brackets the exact bound.
    public static func klLower(successes x: UInt64, trials n: UInt64, delta: Double) -> Double {
        guard n > 0, x > 0 else { return 0 }
        let phat = Double(min(x, n)) / Double(n), level = log(1 / delta) / Double(n)
        var lo = 0.0, hi = phat
        for _ in 0..<200 where hi - lo > 1e-15 * hi {
            let mid = 0.5 * (lo + hi)
            if BinomialTail.kl(phat, mid) > level { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// Chernoff (KL) upper bound: the greatest p with n·KL(x/n ‖ p) ≤ log(1/δ).
    public static func klUpper(successes x: UInt64, trials n: UInt64, delta: Double) -> Double {
        guard n > 0, x < n else { return 1 }
        let phat = Double(x) / Double(n), level = log(1 / delta) / Double(n)
        var lo = phat, hi = 1.0
        for _ in 0..<200 where hi - lo > 1e-15 * hi {
            let mid = 0.5 * (lo + hi)
            if BinomialTail.kl(phat, mid) > level { hi = mid } else { lo = mid }
        }
        return hi
    }

    /// The rank j (1-based) of the order statistic that is an upper confidence bound at level δ for
    /// the q-quantile of n independent draws: the least j with P(Bin(n, q) ≥ j) ≤ δ. Then
    /// P(X₍ⱼ₎ < Q(q)) ≤ δ, because X₍ⱼ₎ < Q(q) needs j draws below Q(q), each with probability at
    /// most q, whatever the distribution (ties and atoms included). nil when even the largest
    /// draw is not a bound at that level (too few draws).
    public static func upperQuantileRank(count n: UInt64, quantile q: Double, delta: Double) -> UInt64? {
        guard n > 0 else { return nil }
        if !BinomialTail.upperTail(n: n, p: q, k: n, isAtMost: delta) { return nil }
        // P(X ≥ ⌊n·q⌋) ≥ 1/2 > δ, and P(X ≥ n) ≤ δ: bisect between.
        var lo = UInt64(max(0, (Double(n) * q).rounded(.down))), hi = n
        if delta >= 0.5 { lo = 0 }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if BinomialTail.upperTail(n: n, p: q, k: mid, isAtMost: delta) { hi = mid } else { lo = mid }
        }
        return hi
    }
}

import Glibc
import Testing
@testable import Rollout

/// The statistics under the judge against values computed here independently (Pascal's
/// triangle and plain products, no lgamma), and against textbook values.
@Suite struct JudgeStatisticsTests {
    /// P(Bin(n, p) = k) for n ≤ 150 from Pascal's triangle and plain powers.
    private static let choose: [[Double]] = {
        var rows: [[Double]] = [[1]]
        for n in 1...150 {
            var row = [Double](repeating: 1, count: n + 1)
            for k in 1..<n { row[k] = rows[n - 1][k - 1] + rows[n - 1][k] }
            rows.append(row)
        }
        return rows
    }()

    private func naiveUpper(_ n: Int, _ p: Double, _ k: Int) -> Double {
        guard k <= n else { return 0 }
        var total = 0.0
        for i in max(k, 0)...n { total += Self.choose[n][i] * pow(p, Double(i)) * pow(1 - p, Double(n - i)) }
        return total
    }

    private func naiveLower(_ n: Int, _ p: Double, _ k: Int) -> Double {
        guard k >= 0 else { return 0 }
        var total = 0.0
        for i in 0...min(k, n) { total += Self.choose[n][i] * pow(p, Double(i)) * pow(1 - p, Double(n - i)) }
        return total
    }

    private func close(_ a: Double, _ b: Double, relative: Double = 1e-9) -> Bool {
        abs(a - b) <= relative * max(abs(a), abs(b)) + 1e-300
    }

    @Test func textbookTails() {
        #expect(close(BinomialTail.upperTail(n: 10, p: 0.5, k: 8), 56.0 / 1024))
        #expect(close(BinomialTail.upperTail(n: 10, p: 0.5, k: 0), 1))
        #expect(BinomialTail.upperTail(n: 10, p: 0.5, k: 11) == 0)
        #expect(close(BinomialTail.upperTail(n: 5, p: 0.05, k: 5), pow(0.05, 5)))
        let first: Double = pow(0.7, 20) + 20 * 0.3 * pow(0.7, 19)
        let lowerTwo: Double = first + 190 * 0.09 * pow(0.7, 18)
        #expect(close(BinomialTail.lowerTail(n: 20, p: 0.3, k: 2), lowerTwo))
        // Large n: closed forms P(X ≥ n) = pⁿ and P(X ≥ 1) = 1 − (1 − p)ⁿ.
        #expect(close(BinomialTail.logUpperTail(n: 2_000_000, p: 0.999_99, k: 2_000_000),
                      2_000_000 * log(0.999_99), relative: 1e-7))
        #expect(close(BinomialTail.upperTail(n: 3_000_000, p: 1e-7, k: 1), -expm1(3_000_000 * log1p(-1e-7)),
                      relative: 1e-7))
        // A tail far below Double's range stays exact in log space.
        let logTail = BinomialTail.logUpperTail(n: 100_000, p: 0.01, k: 10_000)
        #expect(logTail < -700 && logTail.isFinite)
    }

    @Test func tailsMatchPascalOverAGrid() {
        for n in [1, 2, 7, 30, 80, 150] {
            for p in [1e-4, 0.003, 0.05, 0.3, 0.5, 0.77, 0.99] {
                for k in 0...n {
                    let mine = BinomialTail.upperTail(n: UInt64(n), p: p, k: UInt64(k))
                    let naive = naiveUpper(n, p, k)
                    // (Below 1e-250 the plain products lose digits to subnormals.)
                    #expect(close(mine, naive, relative: 1e-8) || naive < 1e-250, "n \(n) p \(p) k \(k): \(mine) vs \(naive)")
                    let lower = BinomialTail.lowerTail(n: UInt64(n), p: p, k: UInt64(k))
                    let naiveLow = naiveLower(n, p, k)
                    #expect(close(lower, naiveLow, relative: 1e-8) || naiveLow < 1e-250, "lower n \(n) p \(p) k \(k)")
                    for alpha in [1e-9, 1e-4, 0.0015, 0.2, 0.6] where abs(naive - alpha) > 1e-9 * alpha {
                        #expect(BinomialTail.upperTail(n: UInt64(n), p: p, k: UInt64(k), isAtMost: alpha) == (naive <= alpha),
                                "n \(n) p \(p) k \(k) alpha \(alpha)")
                    }
                }
            }
        }
    }

    @Test func largeCountsAreConsistent() {
        // Upper and lower tails of the same split sum to 1, and the decision agrees with the value.
        for (n, p) in [(UInt64(300_000), 0.01), (5_000_000, 2e-4), (150_000, 0.5), (297_000, 0.99)] {
            let mean = Double(n) * p, sd = (mean * (1 - p)).squareRoot()
            for z in [-3.0, -0.5, 0, 0.7, 2, 4, 6] {
                let k = UInt64(max(0, (mean + z * sd).rounded()))
                let upper = BinomialTail.upperTail(n: n, p: p, k: k + 1)
                let lower = BinomialTail.lowerTail(n: n, p: p, k: k)
                #expect(abs(upper + lower - 1) < 1e-9, "n \(n) p \(p) k \(k)")
                for alpha in [upper * 0.999, upper * 1.001] where alpha < 1 {
                    #expect(BinomialTail.upperTail(n: n, p: p, k: k + 1, isAtMost: alpha) == (upper <= alpha))
                }
            }
        }
    }

    /// Clopper–Pearson from naive tails by bisection.
    private func naiveClopperPearson(_ x: Int, _ n: Int, _ delta: Double) -> (Double, Double) {
        var lo = 0.0, hi = 1.0
        for _ in 0..<100 {
            let mid = (lo + hi) / 2
            if naiveUpper(n, mid, x) > delta { hi = mid } else { lo = mid }
        }
        let lower = x == 0 ? 0 : lo
        lo = 0; hi = 1
        for _ in 0..<100 {
            let mid = (lo + hi) / 2
            if naiveLower(n, mid, x) > delta { lo = mid } else { hi = mid }
        }
        return (lower, x == n ? 1 : hi)
    }

    @Test func clopperPearsonBounds() {
        // Textbook: 3 / 10 at 95 % two-sided is (0.0667, 0.6525).
        let lower = BinomialBound.clopperPearsonLower(successes: 3, trials: 10, delta: 0.025)
        let upper = BinomialBound.clopperPearsonUpper(successes: 3, trials: 10, delta: 0.025)
        #expect(abs(lower - 0.06674) < 5e-5 && abs(upper - 0.65245) < 5e-5)
        // Closed forms at the edges.
        #expect(close(BinomialBound.clopperPearsonUpper(successes: 0, trials: 50_000, delta: 0.001),
                      1 - pow(0.001, 1.0 / 50_000), relative: 1e-9))
        #expect(close(BinomialBound.clopperPearsonLower(successes: 20, trials: 20, delta: 0.01), pow(0.01, 1.0 / 20)))
        for (x, n) in [(0, 10), (1, 10), (5, 150), (60, 150), (149, 150), (1, 100), (12, 120)] {
            for delta in [0.05, 1e-3, 1e-6] {
                let (nl, nu) = naiveClopperPearson(x, n, delta)
                let l = BinomialBound.clopperPearsonLower(successes: UInt64(x), trials: UInt64(n), delta: delta)
                let u = BinomialBound.clopperPearsonUpper(successes: UInt64(x), trials: UInt64(n), delta: delta)
                #expect(abs(l - nl) < 1e-8 && l <= nl * (1 + 1e-9), "lower \(x)/\(n) δ \(delta): \(l) vs \(nl)")
                #expect(abs(u - nu) < 1e-8 && u >= nu * (1 - 1e-9), "upper \(x)/\(n) δ \(delta): \(u) vs \(nu)")
                // The KL (Chernoff) interval holds the exact one, and is not absurdly wider.
                let kl = BinomialBound.klLower(successes: UInt64(x), trials: UInt64(n), delta: delta)
                let ku = BinomialBound.klUpper(successes: UInt64(x), trials: UInt64(n), delta: delta)
                #expect(kl <= l + 1e-12 && ku >= u - 1e-12)
                #expect(ku - kl <= 2.5 * (u - l) + 0.02)
            }
        }
    }

    @Test func clopperPearsonAtScale() {
        // At the bound, the tail equals δ.
        let n: UInt64 = 297_000, x: UInt64 = 2_970, delta = 1e-6
        let u = BinomialBound.clopperPearsonUpper(successes: x, trials: n, delta: delta)
        #expect(close(BinomialTail.lowerTail(n: n, p: u, k: x), delta, relative: 1e-6))
        let l = BinomialBound.clopperPearsonLower(successes: x, trials: n, delta: delta)
        #expect(close(BinomialTail.upperTail(n: n, p: l, k: x), delta, relative: 1e-6))
        #expect(l < 0.01 && u > 0.01 && u - l < 0.002)
    }

    @Test func quantileRankIsTheLeastValidOne() {
        for (n, q) in [(100, 0.9), (150, 0.99), (150, 0.5), (600, 0.99)] {
            for delta in [0.05, 1e-3, 1e-5] {
                let j = BinomialBound.upperQuantileRank(count: UInt64(n), quantile: q, delta: delta)
                if n <= 150 {
                    let naive = (1...n).first { naiveUpper(n, q, $0) <= delta }
                    #expect(j.map(Int.init) == naive, "n \(n) q \(q) δ \(delta)")
                } else if let j {
                    #expect(BinomialTail.upperTail(n: UInt64(n), p: q, k: j) <= delta)
                    #expect(BinomialTail.upperTail(n: UInt64(n), p: q, k: j - 1) > delta)
                }
            }
        }
        // Too few draws to bound a p99 at 1e-3: 0.99^150 ≈ 0.22.
        #expect(BinomialBound.upperQuantileRank(count: 150, quantile: 0.99, delta: 1e-3) == nil)
    }

    @Test func formatting() {
        let f = JudgeFormat.self
        #expect(f.count(0) == "0" && f.count(999) == "999" && f.count(15_230) == "15,230" && f.count(1_234_567) == "1,234,567")
        #expect(f.percent(0.048) == "4.8 %" && f.percent(0.12) == "12.0 %" && f.percent(0.05, trim: true) == "5 %")
        #expect(f.percent(0.007, trim: true) == "0.7 %" && f.percent(0.00012) == "0.012 %" && f.percent(0) == "0 %")
        #expect(f.duration(nanoseconds: 412e6) == "412 ms" && f.duration(nanoseconds: 1.2e9) == "1.2 s")
        #expect(f.duration(nanoseconds: 4.5e6) == "4.5 ms" && f.duration(nanoseconds: 850e3) == "850 µs")
        #expect(f.duration(nanoseconds: 999.9e6) == "1 s" && f.duration(nanoseconds: 38.4e6) == "38 ms")
        #expect(f.quantileName(0.99) == "p99" && f.quantileName(0.999) == "p99.9" && f.quantileName(0.5) == "p50")
    }
}

import Glibc
import Testing
@testable import Rollout

/// The exact size of the error-rate tests at the edge of their null hypothesis, by summing over
/// every outcome (no simulation): a canary exactly at its limit is failed with probability ≤ δ.
@Suite struct JudgeSizeTests {
    /// P(reject) = Σ P(e_c) P(e_b) [reject(e_c, e_b)], over all e_c and the e_b within 8 sd.
    private func size(nc: UInt64, pc: Double, nb: UInt64, pb: Double,
                      reject: (UInt64, UInt64) -> Bool) -> Double {
        let sd = (Double(nb) * pb * (1 - pb)).squareRoot()
        let lo = UInt64(max(0, Double(nb) * pb - 8 * sd - 1)), hi = min(nb, UInt64(Double(nb) * pb + 8 * sd + 1))
        var total = 0.0
        for ec in 0...nc {
            let wc = exp(BinomialTail.logPMF(n: nc, p: pc, k: ec))
            if wc < 1e-15 { continue }
            for eb in lo...hi where reject(ec, eb) {
                total += wc * exp(BinomialTail.logPMF(n: nb, p: pb, k: eb))
            }
        }
        return total
    }

    @Test(arguments: [(0.01, 2.0), (0.1, 2.0), (0.3, 1.5), (0.002, 5.0)])
    func ratioTestHoldsItsLevelForBinomialCounts(pb: Double, r: Double) {
        let nc: UInt64 = 300, nb: UInt64 = 3_000
        for delta in [0.05, 0.01] {
            let s = size(nc: nc, pc: r * pb, nb: nb, pb: pb) { ec, eb in
                CanaryJudge.ratioExceeded(errors: ec, requests: nc, baselineErrors: eb, baselineRequests: nb,
                                          maxRatio: r, delta: delta)
            }
            print("ratio test at its edge (p_c = \(r) × \(pb), 300 / 3,000 requests): size \(s) at δ \(delta)")
            #expect(s <= delta, "p_b \(pb) r \(r) δ \(delta): size \(s)")
        }
    }

    @Test(arguments: [0.0, 0.01, 0.1])
    func increaseTestHoldsItsLevel(pb: Double) {
        let nc: UInt64 = 300, nb: UInt64 = 3_000, d = 0.005
        let s = size(nc: nc, pc: pb + d, nb: nb, pb: pb) { ec, eb in
            CanaryJudge.increaseExceeded(errors: ec, requests: nc, baselineErrors: eb, baselineRequests: nb,
                                         maxIncrease: d, delta: 0.05)
        }
        print("increase test at its edge (p_c = \(pb) + 0.005, 300 / 3,000 requests): size \(s) at δ 0.05")
        #expect(s <= 0.05, "p_b \(pb): size \(s)")
    }
}

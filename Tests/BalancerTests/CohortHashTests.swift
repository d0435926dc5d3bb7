import Testing
import Balancer

/// Stable cohorts (`hash_on`): the same key always lands in the same pool, on every process and
/// every version, and growing a canary only adds keys to it.
@Suite struct CohortHashTests {
    static let keyCount = 100_000

    static func hash(salt: String, key: String) -> UInt64 {
        let s = Array(salt.utf8)
        let k = Array(key.utf8)
        return s.withUnsafeBytes { s in k.withUnsafeBytes { k in CohortHash.hash(salt: s, key: k) } }
    }

    /// `user-0` … `user-99999` hashed for route `app`, computed once for the suite.
    static let appHashes: [UInt64] = (0..<keyCount).map { hash(salt: "app", key: "user-\($0)") }

    /// How many of `hashes` fall in each slot of `weights`.
    private func counts(_ hashes: [UInt64], weights: [Int]) -> [Int] {
        var result = [Int](repeating: 0, count: weights.count)
        for h in hashes {
            guard let slot = CohortHash.slot(h, weights: weights) else {
                Issue.record("no slot for weights \(weights)")
                return result
            }
            result[slot] += 1
        }
        return result
    }

    /// Asserts that each slot's share of `counts` is within one percentage point of its weight's.
    private func expectShares(_ counts: [Int], _ weights: [Int],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let total = counts.reduce(0, +)
        let weightTotal = weights.reduce(0, +)
        for (count, weight) in zip(counts, weights) {
            let share = Double(count) / Double(total)
            let expected = Double(weight) / Double(weightTotal)
            #expect(abs(share - expected) <= 0.01, "counts \(counts) for weights \(weights)",
                    sourceLocation: sourceLocation)
        }
    }

    // MARK: hash

    @Test func hashIsDeterministic() {
        #expect(Self.hash(salt: "app", key: "user-42") == Self.hash(salt: "app", key: "user-42"))
        #expect(Self.appHashes[42] == Self.hash(salt: "app", key: "user-42"))
    }

    /// Pinned values. Every cutover in a fleet must put a key in the same pool, including while
    /// the fleet runs two versions during an upgrade: a change of hash (algorithm, constants,
    /// separator, byte order) would silently reshuffle every user's cohort across the fleet and
    /// between one version and the next. If this fails, the change is the bug — not these values.
    /// (They were computed independently from the documented algorithm: FNV-1a 64 over salt,
    /// 0xFF, key, then splitmix64's finaliser.)
    @Test func hashIsPinnedAcrossVersions() {
        #expect(Self.hash(salt: "app", key: "user-42") == 0x10d0_fbae_f96d_7a9d)
        #expect(Self.hash(salt: "api", key: "user-42") == 0xb279_290a_0ec6_d27a)
        #expect(Self.hash(salt: "", key: "") == 0x4f2d_b50f_1240_40cd)
        #expect(Self.hash(salt: "app", key: "") == 0x42ae_0424_467e_07e1)
        // And therefore the slots: user-42 is in the 5 % canary of `app` but not of `api`.
        #expect(CohortHash.slot(0x10d0_fbae_f96d_7a9d, weights: [93, 7]) == 1)
        #expect(CohortHash.slot(0x10d0_fbae_f96d_7a9d, weights: [94, 6]) == 0)
        #expect(CohortHash.slot(0xb279_290a_0ec6_d27a, weights: [95, 5]) == 0)
    }

    @Test func hashIsSaltedByRoute() {
        #expect(Self.hash(salt: "app", key: "user-42") != Self.hash(salt: "api", key: "user-42"))
        #expect(Self.hash(salt: "app", key: "user-42") != Self.hash(salt: "", key: "user-42"))
        var differing = 0
        for i in 0..<1000 where Self.hash(salt: "api", key: "user-\(i)") != Self.appHashes[i] { differing += 1 }
        #expect(differing == 1000)
    }

    @Test func saltAndKeyDoNotRunTogether() {
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        #expect(Self.hash(salt: "ab", key: "c") != Self.hash(salt: "a", key: "bc"))
        #expect(Self.hash(salt: "app", key: "") != Self.hash(salt: "ap", key: "p"))
    }

    @Test func keysDifferingInTheirLastByteSpread() {
        // user-0 … user-9: neighbouring keys must not land in neighbouring points.
        let points = (0..<10).map { Int(Self.appHashes[$0] >> 60) }  // top 4 bits
        #expect(Set(points).count >= 5, "\(points)")
    }

    @Test func cohortsOfTwoRoutesAreIndependent() {
        // Of the keys in app's 5 % canary, about 5 % are also in api's.
        var inApp = 0
        var inBoth = 0
        for i in 0..<Self.keyCount where CohortHash.slot(Self.appHashes[i], weights: [95, 5]) == 1 {
            inApp += 1
            if CohortHash.slot(Self.hash(salt: "api", key: "user-\(i)"), weights: [95, 5]) == 1 { inBoth += 1 }
        }
        let share = Double(inBoth) / Double(inApp)
        #expect(share > 0.03 && share < 0.07, "\(inBoth) of \(inApp)")
    }

    // MARK: slot: distribution

    @Test(arguments: [[95, 5], [75, 25], [50, 50], [99, 1]])
    func twoPoolsSplitAsWeighted(weights: [Int]) {
        expectShares(counts(Self.appHashes, weights: weights), weights)
    }

    @Test func threePoolsSplitAsWeighted() {
        expectShares(counts(Self.appHashes, weights: [50, 30, 20]), [50, 30, 20])
        expectShares(counts(Self.appHashes, weights: [1, 1, 1]), [1, 1, 1])
    }

    @Test func theSameShareWrittenDifferentlyPicksTheSameSlots() {
        // 5/95, 1/19 and 50/950 are the same split: a fleet whose configs write it differently
        // must still agree on every key.
        for h in Self.appHashes.prefix(20_000) {
            let slot = CohortHash.slot(h, weights: [95, 5])
            #expect(CohortHash.slot(h, weights: [19, 1]) == slot)
            #expect(CohortHash.slot(h, weights: [950, 50]) == slot)
        }
    }

    // MARK: slot: monotone buckets

    @Test func growingTheCanaryKeepsItsKeys() {
        var canaryAt5 = 0
        var baselineAt75 = 0
        for h in Self.appHashes {
            let at5 = CohortHash.slot(h, weights: [95, 5])
            let at25 = CohortHash.slot(h, weights: [75, 25])
            let at50 = CohortHash.slot(h, weights: [50, 50])
            if at5 == 1 {
                canaryAt5 += 1
                #expect(at25 == 1)
                #expect(at50 == 1)
            }
            if at25 == 1 { #expect(at50 == 1) }
            if at25 == 0 {
                baselineAt75 += 1
                #expect(at5 == 0)
            }
        }
        // The loops above were not vacuous.
        #expect(canaryAt5 > 4_000)
        #expect(baselineAt75 > 70_000)
    }

    @Test func growingOnePoolOfThreeMovesOnlyBaselineKeys() {
        // green grows from 10 to 30 at blue's expense; canary stays at 10.
        for h in Self.appHashes.prefix(20_000) {
            let before = CohortHash.slot(h, weights: [80, 10, 10])
            let after = CohortHash.slot(h, weights: [60, 10, 30])
            if before == 1 { #expect(after == 1) }
            if before == 2 { #expect(after == 2) }
            if after == 0 { #expect(before == 0) }
        }
    }

    // MARK: slot: edges

    @Test func allZeroWeightsHaveNoSlot() {
        #expect(CohortHash.slot(0, weights: [0, 0]) == nil)
        #expect(CohortHash.slot(Self.appHashes[0], weights: [0, 0, 0]) == nil)
        #expect(CohortHash.slot(UInt64.max, weights: [0]) == nil)
        #expect(CohortHash.slot(1, weights: []) == nil)
        #expect(CohortHash.slot(1, weights: [-5, 0]) == nil)
    }

    @Test func aZeroWeightFirstPoolSendsEverythingToTheOthers() {
        #expect(counts(Self.appHashes, weights: [0, 100]) == [0, Self.keyCount])
        let three = counts(Self.appHashes, weights: [0, 30, 70])
        #expect(three[0] == 0)
        expectShares(three, [0, 30, 70])
    }

    @Test func aZeroWeightCanaryGetsNothing() {
        #expect(counts(Self.appHashes, weights: [100, 0]) == [Self.keyCount, 0])
        #expect(CohortHash.slot(0, weights: [100, 0]) == 0)
        #expect(counts(Self.appHashes, weights: [50, 0, 50])[1] == 0)
    }

    @Test func theEndsOfTheHashRange() {
        // The bottom of the range is the first canary's, the top the baseline's.
        #expect(CohortHash.slot(0, weights: [99, 1]) == 1)
        #expect(CohortHash.slot(UInt64.max, weights: [99, 1]) == 0)
        #expect(CohortHash.slot(UInt64.max, weights: [1, 99]) == 0)
        #expect(CohortHash.slot(UInt64.max, weights: [0, 1, 1]) == 2)
        #expect(CohortHash.slot(UInt64.max / 2, weights: [1, 1]) == 1)
        #expect(CohortHash.slot(UInt64.max / 2 + 1, weights: [1, 1]) == 0)
    }
}

import Testing
@testable import Balancer

/// Route splits are exact, not probable: every window of `total` picks matches the weights.
@Suite struct SplitPickerTests {
    private func counts(_ picker: inout SplitPicker, _ n: Int, pools: Int) -> [Int] {
        var result = [Int](repeating: 0, count: pools)
        for _ in 0..<n { if let p = picker.pick() { result[p] += 1 } }
        return result
    }

    @Test func ninetyFiveFiveIsExactInEveryHundred() {
        var picker = SplitPicker(weights: [95, 5])
        for _ in 0..<50 { #expect(counts(&picker, 100, pools: 2) == [95, 5]) }
    }

    @Test func oneNinetyNineIsExactInEveryHundred() {
        var picker = SplitPicker(weights: [1, 99])
        for _ in 0..<50 { #expect(counts(&picker, 100, pools: 2) == [1, 99]) }
    }

    @Test func oneHundredZeroNeverPicksTheZeroPool() {
        var picker = SplitPicker(weights: [100, 0])
        #expect(counts(&picker, 10_000, pools: 2) == [10_000, 0])
    }

    @Test func allZeroGivesNil() {
        var picker = SplitPicker(weights: [0, 0])
        #expect(picker.pick() == nil)
    }

    /// After a change mid-rotation, the first window of the new total is within one pick per pool
    /// and every window after it is exact.
    @Test(arguments: [
        ([95, 5], [50, 50]), ([95, 5], [1, 99]), ([1, 99], [95, 5]), ([100, 0], [0, 100]),
        ([3, 2, 1], [1, 2, 3]), ([950, 50], [5, 95]), ([7, 3], [1, 1]),
    ])
    func changingWeightsMidRotationIsExactWithinOneWindow(old: [Int], new: [Int]) {
        let total = new.reduce(0, +)
        for before in [1, 13, 37, 64] {
            var picker = SplitPicker(weights: old)
            _ = counts(&picker, before, pools: old.count)
            picker.setWeights(new)
            let sequence = (0..<(total * 4)).compactMap { _ in picker.pick() }
            for (pool, weight) in new.enumerated() {
                let first = sequence[0..<total].filter { $0 == pool }.count
                #expect(abs(first - weight) <= 1, "first window, pool \(pool), after \(before)")
                for start in total..<(total * 3) {
                    let window = sequence[start..<(start + total)].filter { $0 == pool }.count
                    #expect(window == weight, "window at \(start), pool \(pool), after \(before)")
                }
            }
            if new.contains(0) {
                let zero = new.firstIndex(of: 0) ?? -1
                #expect(!sequence.contains(zero))
            }
        }
    }

    /// Re-publishing the same small split often (a ramp step, a reload) must not starve the small
    /// pool: the rotation is kept, not restarted with the heavy pool first.
    @Test func frequentRepublishingStillGivesTheSmallPoolItsTurn() {
        var picker = SplitPicker(weights: [99, 1])
        var small = 0
        for i in 0..<1000 {
            picker.setWeights(i % 2 == 0 ? [99, 1] : [990_000, 10_000])
            if picker.pick() == 1 { small += 1 }
        }
        #expect(small == 10)
    }

    @Test func skippedPoolsAreNeverPickedAndTheOthersShareExactly() {
        var picker = SplitPicker(weights: [50, 30, 20])
        var skipped = TriedSet()
        skipped.insert(0)
        var counts = [0, 0, 0]
        for _ in 0..<500 { if let p = picker.pick(excluding: skipped) { counts[p] += 1 } }
        #expect(counts == [0, 300, 200])
        skipped.insert(1)
        skipped.insert(2)
        #expect(picker.pick(excluding: skipped) == nil)
    }

    @Test func eligibilityClosureSkipsPools() {
        var picker = SplitPicker(weights: [1, 1, 1])
        for _ in 0..<20 { #expect(picker.pick(where: { $0 == 2 }) == 2) }
        #expect(picker.pick(where: { _ in false }) == nil)
        // A skipped pool keeps its place: back in, the split is exact again from the next window.
        let sequence = (0..<30).compactMap { _ in picker.pick() }
        for start in 0..<27 {
            #expect(Set(sequence[start..<(start + 3)]) == [0, 1, 2])
        }
    }

    @Test func weightsAreReadable() {
        var picker = SplitPicker(weights: [3, -1])
        #expect(picker.weights == [3, 0] && picker.count == 2)
        picker.setWeights([0, 100])
        #expect(picker.weights == [0, 100])
    }
}

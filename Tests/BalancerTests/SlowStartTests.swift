import Testing
@testable import Balancer

/// Slow-start steps, with injected time only.
@Suite struct SlowStartTests {
    private let start: UInt64 = 5_000
    /// 18 steps of 5 % from 10 % to 100 %: one every 1,000 ns.
    private let slow = SlowStart(duration: 18_000)

    @Test func floorAtTheStartFullAtTheEnd() {
        #expect(slow.factorPerMille(since: start, now: start) == 100)
        #expect(slow.factorPerMille(since: start, now: start - 1) == 100)
        #expect(slow.factorPerMille(since: start, now: start + 18_000) == 1000)
        #expect(slow.factorPerMille(since: start, now: .max) == 1000)
        #expect(!slow.isFinished(since: start, now: start + 17_999))
        #expect(slow.isFinished(since: start, now: start + 18_000))
    }

    @Test func stepsOfFivePercentMonotonically() {
        var previous = slow.factorPerMille(since: start, now: start)
        var changes = 0
        for now in start...(start + 20_000) {
            let factor = slow.factorPerMille(since: start, now: now)
            #expect(factor >= previous)
            if factor != previous {
                #expect(factor - previous == 50)
                #expect((now - start) % 1_000 == 0)
                changes += 1
            }
            previous = factor
        }
        #expect(changes == 18)
    }

    @Test func nextStepWalksEveryStep() {
        var now = start
        var factors: [Int] = []
        while let next = slow.nextStep(since: start, after: now) {
            #expect(slow.factorPerMille(since: start, now: next - 1) == slow.factorPerMille(since: start, now: now))
            now = next
            factors.append(slow.factorPerMille(since: start, now: now))
        }
        #expect(factors == Array(stride(from: 150, through: 1000, by: 50)))
        #expect(now == start + 18_000)
    }

    @Test func aShorterLastStepWhenTheSpanDoesNotDivide() {
        let odd = SlowStart(duration: 88_000, minimumPercent: 12, stepPercent: 5)
        var now: UInt64 = 0
        var percents: [Int] = [odd.percent(since: 0, now: 0)]
        while let next = odd.nextStep(since: 0, after: now) {
            now = next
            percents.append(odd.percent(since: 0, now: now))
        }
        #expect(percents == Array(stride(from: 12, through: 97, by: 5)) + [100])
        #expect(now == 88_000)
    }

    @Test func effectiveWeightIsScaledByAThousand() {
        #expect(slow.effectiveWeight(weight: 3, startedAt: start, now: start) == 300)
        #expect(slow.effectiveWeight(weight: 3, startedAt: start, now: start + 9_000) == 1650)
        #expect(slow.effectiveWeight(weight: 3, startedAt: start, now: start + 18_000) == 3000)
        #expect(slow.effectiveWeight(weight: 0, startedAt: start, now: start) == 0)
        #expect(SlowStart.fullWeight(3) == 3 * SlowStart.weightScale)
    }

    @Test func noDurationMeansFullWeightAtOnce() {
        let none = SlowStart(duration: 0)
        #expect(none.factorPerMille(since: start, now: start) == 1000)
        #expect(none.nextStep(since: start, after: start) == nil)
    }

    @Test func thirtySecondsInNanoseconds() {
        let thirty = SlowStart(duration: 30_000_000_000)
        // The first tenth is well under the full share.
        #expect(thirty.percent(since: 0, now: 3_000_000_000) == 15)
        #expect(thirty.nextStep(since: 0, after: 0) == 30_000_000_000 / 18 + 1)
    }
}

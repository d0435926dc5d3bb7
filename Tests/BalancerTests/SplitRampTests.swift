import Testing
@testable import Balancer

/// A route's split moving from old to new weights, with injected time only.
@Suite struct SplitRampTests {
    private let start: UInt64 = 1_000_000
    private let duration: UInt64 = 4_000_000

    @Test func blueGreenFlipPassesFiftyFiftyAtHalfTime() {
        let ramp = SplitRamp(from: [100, 0], to: [0, 100], start: start, duration: duration)
        #expect(ramp.weights(at: 0) == [100, 0])
        #expect(ramp.weights(at: start) == [100, 0])
        #expect(ramp.weights(at: start + duration / 4) == [750_000, 250_000])
        #expect(ramp.weights(at: start + duration / 2) == [500_000, 500_000])
        #expect(ramp.weights(at: start + duration * 3 / 4) == [250_000, 750_000])
        #expect(ramp.weights(at: start + duration) == [0, 100])
        #expect(ramp.weights(at: start + duration * 10) == [0, 100])
    }

    @Test func isFinishedOnlyFromTheEnd() {
        let ramp = SplitRamp(from: [100, 0], to: [0, 100], start: start, duration: duration)
        #expect(!ramp.isFinished(at: start))
        #expect(!ramp.isFinished(at: start + duration - 1))
        #expect(ramp.isFinished(at: start + duration))
        #expect(ramp.isFinished(at: .max))
    }

    @Test func sidesAreComparedAsShares() {
        // 1/0 → 0/3 passes 50/50 at half time just like 100/0 → 0/100.
        let ramp = SplitRamp(from: [1, 0], to: [0, 3], start: start, duration: duration)
        #expect(ramp.weights(at: start + duration / 2) == [500_000, 500_000])
        // 95/5 → 0/100: the canary grows from 5 % to 100 %.
        let canary = SplitRamp(from: [95, 5], to: [0, 100], start: start, duration: duration)
        #expect(canary.weights(at: start + duration / 2) == [475_000, 525_000])
    }

    @Test func aPoolAddedOrRemovedRampsFromOrToZero() {
        let added = SplitRamp(from: [1], to: [1, 1], start: start, duration: duration)
        #expect(added.from == [1, 0] && added.to == [1, 1])
        #expect(added.weights(at: start + duration / 2) == [750_000, 250_000])
        let removed = SplitRamp(from: [1, 1], to: [1], start: start, duration: duration)
        #expect(removed.weights(at: start + duration / 2) == [750_000, 250_000])
        #expect(removed.weights(at: start + duration) == [1, 0])
    }

    @Test func nothingToRampIsFinishedAtOnce() {
        let instant = SplitRamp(from: [100, 0], to: [0, 100], start: start, duration: 0)
        #expect(instant.isFinished(at: start) && instant.weights(at: 0) == [0, 100])
        #expect(instant.nextStep(after: 0) == nil)
        let fromNothing = SplitRamp(from: [0, 0], to: [0, 100], start: start, duration: duration)
        #expect(fromNothing.isFinished(at: start) && fromNothing.weights(at: start) == [0, 100])
    }

    @Test func positiveSharesStayPositiveThroughout() {
        let ramp = SplitRamp(from: [1, 999_999], to: [999_999, 1], start: start, duration: duration)
        var now = start
        while let next = ramp.nextStep(after: now) {
            now = next
            #expect(ramp.weights(at: now).allSatisfy { $0 > 0 })
        }
    }

    /// Walking `nextStep` from the start gives exactly `steps` publications, one per 1 % of the
    /// duration, the weights constant in between and moving monotonically at each.
    @Test func nextStepWalksOnePercentAtATime() {
        let ramp = SplitRamp(from: [100, 0], to: [0, 100], start: start, duration: duration)
        var now: UInt64 = 0
        var times: [UInt64] = []
        var previous = ramp.weights(at: now)
        while let next = ramp.nextStep(after: now) {
            #expect(next > now)
            #expect(ramp.weights(at: next - 1) == previous)
            let current = ramp.weights(at: next)
            #expect(current != previous)
            if times.count < 99 { #expect(current[1] == (times.count + 1) * 10_000) }
            times.append(next)
            previous = current
            now = next
        }
        #expect(times.count == 100)
        #expect(times.first == start + duration / 100 && times.last == start + duration)
        #expect(previous == [0, 100])
    }

    @Test func nextStepFromTheMiddleOfAStep() {
        let ramp = SplitRamp(from: [100, 0], to: [0, 100], start: start, duration: duration, steps: 4)
        #expect(ramp.nextStep(after: start) == start + 1_000_000)
        #expect(ramp.nextStep(after: start + 1_500_000) == start + 2_000_000)
        #expect(ramp.nextStep(after: start + 3_999_999) == start + 4_000_000)
        #expect(ramp.nextStep(after: start + 4_000_000) == nil)
        #expect(ramp.weights(at: start + 1_999_999) == [750_000, 250_000])
    }

    @Test func longRampsDoNotOverflow() {
        let tenHours: UInt64 = 10 * 3600 * 1_000_000_000
        let ramp = SplitRamp(from: [100, 0], to: [0, 100], start: .max / 2, duration: tenHours)
        #expect(ramp.weights(at: .max / 2 + tenHours / 2) == [500_000, 500_000])
        #expect(ramp.nextStep(after: .max / 2) == .max / 2 + tenHours / 100)
    }
}

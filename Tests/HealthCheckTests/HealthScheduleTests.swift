import EventLoop
import Testing
@testable import HealthCheck

/// Probe timing: the pure schedule with explicit times and seeds, then the real checker's first
/// probes of many targets spread over the interval instead of arriving together.
@Suite struct HealthScheduleTests {
    let second: UInt64 = 1_000_000_000

    @Test func firstProbesSpreadUniformlyOverOneInterval() {
        var schedule = HealthSchedule(seed: 42)
        let now: UInt64 = 5 * second
        var buckets = [Int](repeating: 0, count: 10)
        for _ in 0..<2_000 {
            let at = schedule.firstProbe(now: now, interval: second)
            #expect(at >= now && at <= now + second)
            buckets[min(9, Int((at - now) / (second / 10)))] += 1
        }
        // 200 expected per tenth; lock-step would put all 2000 in one.
        #expect(buckets.allSatisfy { (140...260).contains($0) }, "\(buckets)")
    }

    @Test func laterProbesFollowTheStartWithinTenPercentOfTheInterval() {
        var schedule = HealthSchedule(seed: 9)
        let started: UInt64 = 100 * second
        var gaps: Set<UInt64> = []
        for _ in 0..<1_000 {
            let at = schedule.nextProbe(started: started, now: started + second / 100, interval: second)
            #expect(at >= started + second * 9 / 10 && at <= started + second * 11 / 10)
            gaps.insert((at - started) / (second / 100))
        }
        #expect(gaps.count >= 15, "gaps should vary over the ±10 % band: \(gaps.sorted())")
    }

    @Test func aProbeLongerThanTheIntervalIsFollowedAtOnce() {
        var schedule = HealthSchedule(seed: 1)
        let started: UInt64 = 10 * second
        let now = started + 3 * second
        #expect(schedule.nextProbe(started: started, now: now, interval: second) == now)
    }

    @Test func theSameSeedGivesTheSameScheduleAndAnotherSeedAnother() {
        func draws(_ seed: UInt64) -> [UInt64] {
            var schedule = HealthSchedule(seed: seed)
            return (0..<20).map { _ in schedule.firstProbe(now: 0, interval: second) }
        }
        #expect(draws(5) == draws(5))
        #expect(draws(5) != draws(6))
    }

    @Test func theCheckerSpreadsFirstProbesOfManyTargetsOverTheInterval() async throws {
        let backend = try TestBackend(.acceptAndClose)
        defer { backend.stop() }
        let (checker, _) = try startChecker(seed: 1234)
        defer { checker.stop() }
        let check = try healthCheck(.tcp, intervalMS: 1_000, timeoutMS: 500)
        let targets = (0..<200).map { target(backend.address, check, name: "10.0.0.\($0):80") }
        let start = MonotonicClock.now()
        checker.configure(targets)

        // Only first probes can start within 0.9 s: any second one comes at least 0.9 s after the first.
        #expect(await eventually { MonotonicClock.now() - start >= 900 * millisecond })
        let offsets = backend.acceptTimes.withLock { $0 }.map { $0 - start }.filter { $0 < 900 * millisecond }
        var buckets = [Int](repeating: 0, count: 9)
        for offset in offsets { buckets[Int(offset / (100 * millisecond))] += 1 }
        // About 20 per 100 ms expected; lock-step would put them all in one bucket.
        #expect(offsets.count >= 150, "only \(offsets.count) first probes in 0.9 s")
        #expect(buckets.allSatisfy { (5...50).contains($0) }, "first probes per 100 ms: \(buckets)")
    }
}

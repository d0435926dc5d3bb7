import Config
import Testing
@testable import ControlPlane

/// The routes' effective splits across reloads, with an injected `now`: `ramp: 0s` switches at
/// once, a ramp moves linearly from the split in effect to the new one and ends exactly on it.
@Suite struct SplitRampsTests {
    private let t0: UInt64 = 1_000 * oneSecond
    /// Split weights in the middle of a ramp are in parts per million of the route's total.
    private let million = 1_000_000

    private static let pools = """
          blue:
            backends: [{ address: 10.0.0.1:80 }]
          green:
            backends: [{ address: 10.0.1.1:80 }]
          canary:
            backends: [{ address: 10.0.2.1:80 }]
        """

    /// Route `app` with `split` (a YAML flow mapping) and `ramp`, plus `more` routes.
    private func config(_ split: String, ramp: String = "0s", more: String = "") throws -> CutoverConfig {
        try parseConfig(routes: "  app:\n    pools: \(split)\n    ramp: \(ramp)\n\(more)", pools: Self.pools)
    }

    @Test func theConfiguredSplitIsInEffectAtStart() throws {
        let ramps = SplitRamps(try config("{ blue: 90, green: 10 }", ramp: "10s"))
        #expect(ramps.effective == ["app": [90, 10]])
        #expect(!ramps.isRamping)
        #expect(ramps.nextStep(after: t0) == nil)
    }

    @Test func rampZeroSwitchesAtOnce() throws {
        var ramps = SplitRamps(try config("{ blue: 100, green: 0 }"))
        #expect(ramps.apply(try config("{ blue: 0, green: 100 }"), now: t0) == ["app": [0, 100]])
        #expect(ramps.effective == ["app": [0, 100]])
        #expect(!ramps.isRamping)
        #expect(ramps.nextStep(after: t0) == nil)
        #expect(ramps.step(now: t0 + oneSecond).isEmpty)
    }

    /// 100/0 → 0/100 over 10 s: the reload itself publishes the old split, then each second
    /// moves 10 % and the end is the configured split exactly, not its parts-per-million image.
    @Test func aRampMovesLinearlyAndEndsOnTheConfiguredSplit() throws {
        var ramps = SplitRamps(try config("{ blue: 100, green: 0 }"))
        #expect(ramps.apply(try config("{ blue: 0, green: 100 }", ramp: "10s"), now: t0) == ["app": [100, 0]])
        #expect(ramps.isRamping)
        #expect(ramps.nextStep(after: t0) == t0 + oneSecond / 10)
        #expect(ramps.step(now: t0 + oneSecond / 10 - 1).isEmpty, "nothing moves before the first step")

        for second in 1...9 {
            let changes = ramps.step(now: t0 + UInt64(second) * oneSecond)
            let expected = [million - second * million / 10, second * million / 10]
            #expect(changes.map(\.route) == ["app"] && changes.first?.weights == expected, "at \(second) s")
            #expect(ramps.effective["app"] == expected)
            #expect(ramps.step(now: t0 + UInt64(second) * oneSecond).isEmpty, "a step at the same time changes nothing")
        }
        let last = ramps.step(now: t0 + 10 * oneSecond)
        #expect(last.map(\.route) == ["app"] && last.first?.weights == [0, 100])
        #expect(ramps.effective == ["app": [0, 100]])
        #expect(!ramps.isRamping)
        #expect(ramps.nextStep(after: t0 + 10 * oneSecond) == nil)
    }

    /// Following `nextStep` as the control plane's timer does: 100 publications of 1 %, each
    /// one changing the split, the last one at the end of the ramp.
    @Test func followingNextStepPublishesOnePercentAtATime() throws {
        var ramps = SplitRamps(try config("{ blue: 100, green: 0 }"))
        _ = ramps.apply(try config("{ blue: 0, green: 100 }", ramp: "10s"), now: t0)
        var now = t0
        var greens: [Int] = []
        // Bounded, so a timer that never moves on fails the test instead of hanging it.
        while let next = ramps.nextStep(after: now), greens.count <= 100 {
            #expect(next > now)
            now = next
            let changes = ramps.step(now: now)
            #expect(changes.count == 1)
            greens.append(changes.first?.weights[1] ?? -1)
        }
        #expect(greens.count == 100)
        #expect(Array(greens.prefix(99)) == (1...99).map { $0 * million / 100 })
        #expect(greens.last == 100)
        #expect(now == t0 + 10 * oneSecond)
        #expect(ramps.effective == ["app": [0, 100]])
    }

    /// A reload mid-ramp ramps from the split in effect at that moment, not from either end.
    @Test func aReloadDuringARampStartsFromWhereTheRampWas() throws {
        var ramps = SplitRamps(try config("{ blue: 100, green: 0 }"))
        _ = ramps.apply(try config("{ blue: 0, green: 100 }", ramp: "10s"), now: t0)
        _ = ramps.step(now: t0 + 4 * oneSecond)
        let reload = t0 + 4 * oneSecond
        // Roll back, over 10 s again.
        #expect(ramps.apply(try config("{ blue: 100, green: 0 }", ramp: "10s"), now: reload) == ["app": [600_000, 400_000]])
        #expect(ramps.nextStep(after: reload) == reload + oneSecond / 10)
        #expect(ramps.step(now: reload + 5 * oneSecond).first?.weights == [800_000, 200_000])
        #expect(ramps.step(now: reload + 10 * oneSecond).first?.weights == [100, 0])
        #expect(!ramps.isRamping)
    }

    @Test func aReloadWithRampZeroDuringARampSwitchesAtOnce() throws {
        var ramps = SplitRamps(try config("{ blue: 100, green: 0 }"))
        _ = ramps.apply(try config("{ blue: 0, green: 100 }", ramp: "10s"), now: t0)
        _ = ramps.step(now: t0 + 3 * oneSecond)
        #expect(ramps.apply(try config("{ blue: 50, green: 50 }"), now: t0 + 3 * oneSecond) == ["app": [50, 50]])
        #expect(!ramps.isRamping)
        #expect(ramps.step(now: t0 + 5 * oneSecond).isEmpty)

        // The same split with `ramp: 0s`: the operator ends the ramp now.
        _ = ramps.apply(try config("{ blue: 0, green: 100 }", ramp: "10s"), now: t0 + 5 * oneSecond)
        _ = ramps.step(now: t0 + 6 * oneSecond)
        #expect(ramps.apply(try config("{ blue: 0, green: 100 }"), now: t0 + 6 * oneSecond) == ["app": [0, 100]])
        #expect(!ramps.isRamping)
    }

    /// A reload that leaves a ramping route's split as it is (another route, a backend, a
    /// timeout changed) must neither restart nor stall its ramp: it still ends on time.
    @Test func aReloadThatKeepsTheSplitKeepsTheRampsSchedule() throws {
        let target = try config("{ blue: 0, green: 100 }", ramp: "10s")
        var ramps = SplitRamps(try config("{ blue: 100, green: 0 }"))
        _ = ramps.apply(target, now: t0)
        _ = ramps.step(now: t0 + 4 * oneSecond)
        #expect(ramps.apply(target, now: t0 + 4 * oneSecond) == ["app": [600_000, 400_000]])
        #expect(ramps.nextStep(after: t0 + 4 * oneSecond) == t0 + 4 * oneSecond + oneSecond / 10)
        #expect(ramps.step(now: t0 + 7 * oneSecond).first?.weights == [300_000, 700_000])
        #expect(ramps.step(now: t0 + 10 * oneSecond).first?.weights == [0, 100])
        #expect(!ramps.isRamping)
    }

    /// Reloads more frequent than the ramp's steps (a config manager re-applying the same file)
    /// must not hold the split where it is.
    @Test func aStormOfUnchangedReloadsDoesNotHoldTheRamp() throws {
        let target = try config("{ blue: 0, green: 100 }", ramp: "10s")
        var ramps = SplitRamps(try config("{ blue: 100, green: 0 }"))
        _ = ramps.apply(target, now: t0)
        var now = t0
        while now < t0 + 10 * oneSecond {
            now += oneSecond / 20
            _ = ramps.step(now: now)
            _ = ramps.apply(target, now: now)
        }
        #expect(ramps.effective == ["app": [0, 100]])
        #expect(!ramps.isRamping)
    }

    @Test func aPoolAddedByTheReloadRampsFromZero() throws {
        var ramps = SplitRamps(try config("{ blue: 100 }"))
        #expect(ramps.apply(try config("{ blue: 0, green: 100 }", ramp: "10s"), now: t0) == ["app": [100, 0]])
        #expect(ramps.step(now: t0 + 5 * oneSecond).first?.weights == [500_000, 500_000])
        #expect(ramps.step(now: t0 + 10 * oneSecond).first?.weights == [0, 100])
    }

    /// Pools are matched by name: reordering them is not a change, and a change in a new order
    /// ramps each pool from its own old weight.
    @Test func poolsAreMatchedByNameNotPosition() throws {
        var ramps = SplitRamps(try config("{ blue: 100, green: 0 }"))
        #expect(ramps.apply(try config("{ green: 0, blue: 100 }", ramp: "10s"), now: t0) == ["app": [0, 100]])
        #expect(!ramps.isRamping)
        #expect(ramps.apply(try config("{ green: 100, blue: 0 }", ramp: "10s"), now: t0) == ["app": [0, 100]])
        #expect(ramps.step(now: t0 + 2 * oneSecond).first?.weights == [200_000, 800_000])
    }

    /// A pool dropped from a route leaves its split; the route ends on its new split.
    @Test func aPoolRemovedByTheReloadLeavesTheSplit() throws {
        var ramps = SplitRamps(try config("{ blue: 50, green: 50 }"))
        _ = ramps.apply(try config("{ blue: 100 }", ramp: "10s"), now: t0)
        #expect(ramps.effective["app"]?.count == 1)
        var now = t0
        var steps = 0
        while let next = ramps.nextStep(after: now), steps <= 100 {
            now = next
            steps += 1
            _ = ramps.step(now: now)
        }
        #expect(ramps.effective == ["app": [100]])
    }

    @Test func aRouteAddedByAReloadTakesItsSplitAtOnce() throws {
        var ramps = SplitRamps(try config("{ blue: 100 }"))
        let api = "  api:\n    pools: { green: 30, canary: 70 }\n    ramp: 10s\n"
        #expect(ramps.apply(try config("{ blue: 100 }", more: api), now: t0) == ["app": [100], "api": [30, 70]])
        #expect(!ramps.isRamping)
    }

    /// A route removed mid-ramp takes its ramp along: no more steps for it, and the timer
    /// follows only the routes that remain.
    @Test func aRouteRemovedByAReloadStopsRamping() throws {
        let api = { (split: String, ramp: String) in "  api:\n    pools: \(split)\n    ramp: \(ramp)\n" }
        var ramps = SplitRamps(try config("{ blue: 100, green: 0 }", more: api("{ green: 100, canary: 0 }", "0s")))
        _ = ramps.apply(try config("{ blue: 0, green: 100 }", ramp: "10s", more: api("{ green: 0, canary: 100 }", "1s")), now: t0)
        // Both ramp; the shorter one's steps come first.
        #expect(ramps.nextStep(after: t0) == t0 + oneSecond / 100)
        let halfSecond = ramps.step(now: t0 + oneSecond / 2)
        #expect(Set(halfSecond.map(\.route)) == ["app", "api"])

        #expect(ramps.apply(try config("{ blue: 0, green: 100 }", ramp: "10s"), now: t0 + oneSecond / 2).keys.sorted() == ["app"])
        #expect(ramps.effective["api"] == nil)
        #expect(ramps.step(now: t0 + oneSecond).allSatisfy { $0.route == "app" })
        #expect(ramps.nextStep(after: t0 + oneSecond) == t0 + oneSecond + oneSecond / 10)
    }
}

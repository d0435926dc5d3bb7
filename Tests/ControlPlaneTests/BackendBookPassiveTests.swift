import Balancer
import Config
import HealthCheck
import Testing
@testable import ControlPlane

/// Passive health in the book, with an injected `now`: who gets ejected, who is kept as the last
/// usable backend of its pool, and how an ejected backend comes back (through slow start).
@Suite struct BackendBookPassiveTests {
    private let t0: UInt64 = 1_000 * oneSecond
    private let ejectFor: UInt64 = 10 * oneSecond

    private let a = identity("blue", "10.0.0.1:80")
    private let b = identity("blue", "10.0.0.2:80")
    private let c = identity("blue", "10.0.0.3:80")

    /// Pool `blue` with passive health (eject for 10 s) over `backends`, plus `extra` pool lines.
    private func passiveConfig(backends: String = "[{ address: 10.0.0.1:80 }, { address: 10.0.0.2:80 }, { address: 10.0.0.3:80 }]",
                               blueExtra: String = "", otherPools: String = "") throws -> CutoverConfig {
        try parseConfig(routes: "  app:\n    pools: { blue: 100 }\n", pools: """
              blue:
                passive: { consecutive_failures: 3, eject_for: 10s }
                backends: \(backends)
            \(blueExtra)
            \(otherPools)
            """)
    }

    @Test func ejectsWhileAnotherBackendOfThePoolIsUsable() throws {
        let config = try passiveConfig()
        var book = registeredBook(config)
        #expect(book.passiveFailure(id: 0, config: config, now: t0) == .ejected(until: t0 + ejectFor))
        #expect(book.ejectedUntil == [a: t0 + ejectFor])
        #expect(book.ejectionRefusedUntil.isEmpty)
        #expect(book.nextEjectionEnd == t0 + ejectFor)

        // Weight 0 for the whole ejection, the others untouched.
        #expect(book.effectiveWeights(config, now: t0) == [[0, 1_000, 1_000]])
        #expect(book.effectiveWeights(config, now: t0 + ejectFor - 1) == [[0, 1_000, 1_000]])
        #expect(book.isEjected(a, now: t0 + ejectFor - 1))
        #expect(!book.isEjected(a, now: t0 + ejectFor))

        // A second backend can go too while a third remains.
        #expect(book.passiveFailure(id: 1, config: config, now: t0 + 1) == .ejected(until: t0 + 1 + ejectFor))
        #expect(book.effectiveWeights(config, now: t0 + 1) == [[0, 0, 1_000]])
    }

    /// A failing backend beats none at all: the last usable one is kept, and `/status` is told
    /// until when (ejectionRefusedUntil).
    @Test func theLastUsableBackendIsNeverEjected() throws {
        let config = try passiveConfig(backends: "[{ address: 10.0.0.1:80 }, { address: 10.0.0.2:80 }]")
        var book = registeredBook(config)
        #expect(book.passiveFailure(id: 0, config: config, now: t0) == .ejected(until: t0 + ejectFor))
        let later = t0 + 2 * oneSecond
        #expect(book.passiveFailure(id: 1, config: config, now: later) == .refusedLastUsable)
        #expect(book.ejectionRefusedUntil == [b: later + ejectFor])
        #expect(book.ejectedUntil[b] == nil)
        #expect(book.effectiveWeights(config, now: later) == [[0, 1_000]])
    }

    @Test func othersThatAreUnhealthyCheckingOrWeightZeroDoNotCountAsUsable() throws {
        let config = try passiveConfig(blueExtra: "    health_check: { type: tcp }")
        var book = registeredBook(config)
        book.health[a] = .healthy
        book.health[b] = .unhealthy
        // c has no result yet: checking.
        #expect(book.passiveFailure(id: 0, config: config, now: t0) == .refusedLastUsable)
        #expect(book.effectiveWeights(config, now: t0) == [[1_000, 0, 0]])

        book.health[c] = .healthy
        #expect(book.passiveFailure(id: 0, config: config, now: t0 + 1) == .ejected(until: t0 + 1 + ejectFor))
        #expect(book.ejectionRefusedUntil[a] == nil, "an ejection replaces the earlier refusal")

        let weightless = try passiveConfig(backends: "[{ address: 10.0.0.1:80 }, { address: 10.0.0.2:80, weight: 0 }]")
        var other = registeredBook(weightless)
        #expect(other.passiveFailure(id: 0, config: weightless, now: t0) == .refusedLastUsable)
    }

    @Test func ignoredWhileAlreadyEjectedWithoutExtendingIt() throws {
        let config = try passiveConfig()
        var book = registeredBook(config)
        #expect(book.passiveFailure(id: 0, config: config, now: t0) == .ejected(until: t0 + ejectFor))
        // Failure streaks reported late (requests that started before the ejection).
        #expect(book.passiveFailure(id: 0, config: config, now: t0 + 5 * oneSecond) == .ignored)
        #expect(book.passiveFailure(id: 0, config: config, now: t0 + ejectFor - 1) == .ignored)
        #expect(book.ejectedUntil == [a: t0 + ejectFor])
    }

    @Test func ignoredForDrainingBackendsPoolsWithoutPassiveAndUnknownIDs() throws {
        let config = try passiveConfig(otherPools: """
              green:
                backends: [{ address: 10.0.1.1:80 }, { address: 10.0.1.2:80 }]
            """)
        var book = registeredBook(config)
        // Draining: it gets nothing new anyway.
        book.draining[a] = BackendBook.Drain(deadline: t0 + oneSecond, id: 0, target: nil)
        #expect(book.passiveFailure(id: 0, config: config, now: t0) == .ignored)
        // Pool `green` has no `passive:` section (ids 3 and 4).
        #expect(book.passiveFailure(id: 3, config: config, now: t0) == .ignored)
        // Ids the book never gave out.
        #expect(book.passiveFailure(id: 5, config: config, now: t0) == .ignored)
        #expect(book.passiveFailure(id: Int.max, config: config, now: t0) == .ignored)
        // A backend the running config no longer has (its pool still there).
        let gone = book.id(for: identity("blue", "10.0.0.9:80"))
        #expect(book.passiveFailure(id: gone, config: config, now: t0) == .ignored)

        #expect(book.ejectedUntil.isEmpty && book.ejectionRefusedUntil.isEmpty)
        #expect(book.nextEjectionEnd == nil)
    }

    /// The ejection ends at `until`: the backend comes back through its pool's slow start from the
    /// moment it is let back in, not from a stale start.
    @Test func endEjectionsBringsTheBackendBackThroughSlowStart() throws {
        let config = try passiveConfig(blueExtra: "    slow_start: 18s")
        let pool = try config.requirePool("blue")
        var book = registeredBook(config)
        book.slowStartBegan[a] = t0 - 100 * oneSecond  // long finished
        #expect(book.passiveFailure(id: 0, config: config, now: t0) == .ejected(until: t0 + ejectFor))

        #expect(book.endEjections(now: t0 + ejectFor - 1).isEmpty)
        #expect(book.isEjected(a, now: t0 + ejectFor - 1))

        // The timer fires a little late.
        let back = t0 + ejectFor + oneSecond / 4
        #expect(book.endEjections(now: back) == [a])
        #expect(book.ejectedUntil.isEmpty)
        #expect(book.nextEjectionEnd == nil)
        #expect(book.slowStartBegan[a] == back)
        #expect(book.effectiveWeight(a, weight: 1, pool: pool, now: back) == 100)
        #expect(book.effectiveWeight(a, weight: 1, pool: pool, now: back + 9 * oneSecond) == 550)
        #expect(book.effectiveWeight(a, weight: 1, pool: pool, now: back + 18 * oneSecond) == 1_000)
        #expect(book.nextSlowStartStep(config, after: back) == back + oneSecond)
        #expect(book.endEjections(now: back + oneSecond).isEmpty)
    }

    @Test func withoutSlowStartAnEndedEjectionIsBackAtFullWeight() throws {
        let config = try passiveConfig()
        var book = registeredBook(config)
        _ = book.passiveFailure(id: 1, config: config, now: t0)
        #expect(book.endEjections(now: t0 + ejectFor) == [b])
        #expect(book.effectiveWeights(config, now: t0 + ejectFor) == [[1_000, 1_000, 1_000]])
        #expect(book.nextSlowStartStep(config, after: t0 + ejectFor) == nil)
    }

    /// After an ejection ends, the backend that had been refused (kept as the last usable one)
    /// can be ejected at its next failure streak.
    @Test func aRefusedBackendIsEjectedOnceAnotherIsBack() throws {
        let config = try passiveConfig(backends: "[{ address: 10.0.0.1:80 }, { address: 10.0.0.2:80 }]", blueExtra: "    slow_start: 18s")
        var book = registeredBook(config)
        _ = book.passiveFailure(id: 0, config: config, now: t0)
        #expect(book.passiveFailure(id: 1, config: config, now: t0 + 1) == .refusedLastUsable)
        #expect(book.endEjections(now: t0 + ejectFor) == [a])
        // a is back at its slow-start floor: usable, so b may go.
        #expect(book.passiveFailure(id: 1, config: config, now: t0 + ejectFor) == .ejected(until: t0 + 2 * ejectFor))
        #expect(book.ejectionRefusedUntil.isEmpty)
    }

    @Test func endEjectionsClearsExpiredRefusalsOnly() throws {
        let config = try passiveConfig(backends: "[{ address: 10.0.0.1:80 }]", otherPools: """
              green:
                passive: { eject_for: 10s }
                backends: [{ address: 10.0.1.1:80 }]
            """)
        var book = registeredBook(config)
        let green = identity("green", "10.0.1.1:80")
        #expect(book.passiveFailure(id: 0, config: config, now: t0) == .refusedLastUsable)
        #expect(book.passiveFailure(id: 1, config: config, now: t0 + 5 * oneSecond) == .refusedLastUsable)
        #expect(book.ejectionRefusedUntil == [a: t0 + ejectFor, green: t0 + 15 * oneSecond])
        // Refusals are not ejections: they do not arm the ejection timer.
        #expect(book.nextEjectionEnd == nil)

        #expect(book.endEjections(now: t0 + ejectFor - 1).isEmpty)
        #expect(book.ejectionRefusedUntil.count == 2)
        #expect(book.endEjections(now: t0 + ejectFor).isEmpty)
        #expect(book.ejectionRefusedUntil == [green: t0 + 15 * oneSecond])
        _ = book.endEjections(now: t0 + 15 * oneSecond)
        #expect(book.ejectionRefusedUntil.isEmpty)
    }

    @Test func nextEjectionEndIsTheEarliestRunningOne() throws {
        let config = try passiveConfig()
        var book = registeredBook(config)
        #expect(book.nextEjectionEnd == nil)
        _ = book.passiveFailure(id: 1, config: config, now: t0 + 2 * oneSecond)
        _ = book.passiveFailure(id: 0, config: config, now: t0)
        #expect(book.nextEjectionEnd == t0 + ejectFor)
        #expect(book.endEjections(now: t0 + ejectFor) == [a])
        #expect(book.nextEjectionEnd == t0 + 2 * oneSecond + ejectFor)
        #expect(book.endEjections(now: t0 + 2 * oneSecond + ejectFor) == [b])
        #expect(book.nextEjectionEnd == nil)
    }
}

import Balancer
import Config
import HealthCheck
import Testing
@testable import ControlPlane

/// The control plane's per-backend record with an injected `now`: stable ids, and the effective
/// weight that health and slow start make of the configured one.
@Suite struct BackendBookTests {
    private let t0: UInt64 = 1_000 * oneSecond

    private let a = identity("blue", "10.0.0.1:80")
    private let b = identity("blue", "10.0.0.2:80")

    @Test func idsAreStablePerIdentityAndNeverReused() {
        var book = BackendBook()
        let aGreen = identity("green", "10.0.0.1:80")
        #expect(book.knownID(a) == nil)
        #expect(book.id(for: a) == 0)
        #expect(book.id(for: b) == 1)
        #expect(book.id(for: a) == 0)
        #expect(book.id(for: aGreen) == 2, "the same address in another pool is another backend")
        #expect(book.identities == [a, b, aGreen])
        #expect(book.knownID(b) == 1)

        // A removed backend drains and goes; its id stays its own (a counter of the workers must
        // never move to another backend), and it gets it back if re-added.
        book.draining[b] = BackendBook.Drain(deadline: t0, id: 1, target: nil)
        book.draining[b] = nil
        let c = identity("blue", "10.0.0.3:80")
        #expect(book.id(for: c) == 3)
        #expect(book.id(for: b) == 1)
        #expect(book.identities == [a, b, aGreen, c])
    }

    /// With a health check a backend takes traffic only once healthy; `checking` (never probed)
    /// and `unhealthy` mean weight 0.
    @Test func withAHealthCheckOnlyHealthyBackendsHaveWeight() throws {
        let config = try parseConfig(pools: """
              blue:
                health_check: { type: tcp }
                backends: [{ address: 10.0.0.1:80, weight: 2 }]
            """)
        let pool = try config.requirePool("blue")
        var book = registeredBook(config)
        #expect(book.effectiveWeight(a, weight: 2, pool: pool, now: t0) == 0, "no result yet counts as checking")
        for (state, weight) in [(HealthState.checking, 0), (.unhealthy, 0), (.healthy, 2_000)] {
            book.health[a] = state
            #expect(book.effectiveWeight(a, weight: 2, pool: pool, now: t0) == weight, "\(state)")
        }
        book.health[a] = .unhealthy
        #expect(book.state(a, pool: pool) == "unhealthy")
    }

    /// Without a health check every backend is usable at its full weight at once; a stale health
    /// entry (the pool had a check before a reload) is not looked at.
    @Test func withoutAHealthCheckEveryBackendHasItsFullWeight() throws {
        let config = try parseConfig(pools: """
              blue:
                backends: [{ address: 10.0.0.1:80, weight: 3 }, { address: 10.0.0.2:80, weight: 0 }]
            """)
        let pool = try config.requirePool("blue")
        var book = registeredBook(config)
        #expect(book.effectiveWeights(config, now: t0) == [[3_000, 0]])
        book.health[a] = .unhealthy
        #expect(book.effectiveWeight(a, weight: 3, pool: pool, now: t0) == 3_000)
        #expect(book.state(a, pool: pool) == "healthy")
    }

    @Test func effectiveWeightsArePoolByPoolInConfigOrder() throws {
        let config = try parseConfig(routes: "  app:\n    pools: { green: 1, blue: 1 }\n", pools: """
              green:
                backends: [{ address: 10.0.1.1:80, weight: 5 }]
              blue:
                health_check: { type: tcp }
                backends: [{ address: 10.0.0.1:80 }, { address: 10.0.0.2:80, weight: 4 }]
            """)
        var book = registeredBook(config)
        book.health[b] = .healthy
        #expect(book.effectiveWeights(config, now: t0) == [[5_000], [0, 4_000]])
    }

    /// Slow start (18 s: a 5 % step each second from 10 %) scales the weight with `now`.
    @Test func slowStartScalesTheWeightWithNow() throws {
        let config = try parseConfig(pools: """
              blue:
                slow_start: 18s
                backends: [{ address: 10.0.0.1:80, weight: 2 }, { address: 10.0.0.2:80, weight: 2 }]
            """)
        let pool = try config.requirePool("blue")
        var book = registeredBook(config)
        book.slowStartBegan[a] = t0
        #expect(book.effectiveWeight(a, weight: 2, pool: pool, now: t0) == 200)
        #expect(book.effectiveWeight(a, weight: 2, pool: pool, now: t0 + oneSecond - 1) == 200)
        #expect(book.effectiveWeight(a, weight: 2, pool: pool, now: t0 + oneSecond) == 300)
        #expect(book.effectiveWeight(a, weight: 2, pool: pool, now: t0 + 9 * oneSecond) == 1_100)
        #expect(book.effectiveWeight(a, weight: 2, pool: pool, now: t0 + 18 * oneSecond) == 2_000)
        // A backend with no slow start on record (there at start-up) has its full weight.
        #expect(book.effectiveWeight(b, weight: 2, pool: pool, now: t0) == 2_000)
    }

    /// Health comes first: a backend in slow start that turns unhealthy has weight 0; a pool
    /// whose slow start a reload set to 0 gives full weight at once.
    @Test func slowStartAppliesOnlyToUsableBackendsOfPoolsThatHaveIt() throws {
        let config = try parseConfig(pools: """
              blue:
                slow_start: 18s
                health_check: { type: tcp }
                backends: [{ address: 10.0.0.1:80 }]
            """)
        let pool = try config.requirePool("blue")
        var book = registeredBook(config)
        book.slowStartBegan[a] = t0
        book.health[a] = .healthy
        #expect(book.effectiveWeight(a, weight: 1, pool: pool, now: t0 + 2 * oneSecond) == 200)
        book.health[a] = .unhealthy
        #expect(book.effectiveWeight(a, weight: 1, pool: pool, now: t0 + 2 * oneSecond) == 0)

        var noSlowStart = pool
        noSlowStart.slowStart = Duration(nanoseconds: 0)
        book.health[a] = .healthy
        #expect(book.effectiveWeight(a, weight: 1, pool: noSlowStart, now: t0) == 1_000)
        #expect(book.effectiveWeight(a, weight: 1, drained: true, pool: noSlowStart, now: t0) == 0, "state: drain takes no new request")
    }

    /// The control plane's timer: the earliest step of any ramping backend of the config.
    @Test func nextSlowStartStepIsTheEarliestOfAnyRampingBackend() throws {
        let config = try parseConfig(pools: """
              blue:
                slow_start: 18s
                backends: [{ address: 10.0.0.1:80 }, { address: 10.0.0.2:80 }]
              green:
                backends: [{ address: 10.0.1.1:80 }]
            """)
        var book = registeredBook(config)
        #expect(book.nextSlowStartStep(config, after: t0) == nil)

        // Pools without slow start and backends no longer configured do not arm the timer.
        book.slowStartBegan[identity("green", "10.0.1.1:80")] = t0
        book.slowStartBegan[identity("blue", "10.9.9.9:80")] = t0
        #expect(book.nextSlowStartStep(config, after: t0) == nil)

        book.slowStartBegan[a] = t0
        book.slowStartBegan[b] = t0 + oneSecond / 2
        #expect(book.nextSlowStartStep(config, after: t0) == t0 + oneSecond)
        #expect(book.nextSlowStartStep(config, after: t0 + oneSecond) == t0 + 3 * oneSecond / 2)
        #expect(book.nextSlowStartStep(config, after: t0 + 3 * oneSecond / 2) == t0 + 2 * oneSecond)
        // a is done at 18 s, b half a second later; then nothing is due.
        #expect(book.nextSlowStartStep(config, after: t0 + 18 * oneSecond) == t0 + 37 * oneSecond / 2)
        #expect(book.nextSlowStartStep(config, after: t0 + 37 * oneSecond / 2) == nil)
    }

    @Test func stateNamesTheHealthOfCheckedPoolsOnly() throws {
        let config = try parseConfig(routes: "  app:\n    pools: { blue: 1, green: 1 }\n", pools: """
              blue:
                health_check: { type: tcp }
                backends: [{ address: 10.0.0.1:80 }]
              green:
                backends: [{ address: 10.0.1.1:80 }]
            """)
        var book = registeredBook(config)
        let blue = try config.requirePool("blue")
        #expect(book.state(a, pool: blue) == "checking")
        book.health[a] = .healthy
        #expect(book.state(a, pool: blue) == "healthy")
        #expect(book.state(identity("green", "10.0.1.1:80"), pool: try config.requirePool("green")) == "healthy")
    }
}

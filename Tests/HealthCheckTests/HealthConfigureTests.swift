import Balancer
import Config
import EventLoop
import HealthCheck
import Testing

/// `configure` as a reload uses it: health state is keyed by backend identity and survives a new
/// target set; new backends start `checking`; removed ones stop being probed.
@Suite struct HealthConfigureTests {
    @Test func theSameIdentityKeepsItsStateWithoutRechecking() async throws {
        let backend = try TestBackend()
        defer { backend.stop() }
        let (checker, transitions) = try startChecker()
        defer { checker.stop() }
        let check = try healthCheck(intervalMS: 30, rise: 3, fall: 2)
        let t = target(backend.address, check)
        checker.configure([t])
        #expect(await eventually { checker.state(of: t.identity) == .healthy })

        checker.configure([t])
        #expect(checker.state(of: t.identity) == .healthy)
        // Changed settings: the state stays, only the thresholds change.
        var stricter = t
        stricter.check.rise = 5
        stricter.check.path = "/deep"
        checker.configure([stricter])
        #expect(checker.state(of: t.identity) == .healthy)

        let answered = backend.answered.load(ordering: .relaxed)
        #expect(await eventually { backend.requests.withLock { $0.contains { $0.hasPrefix("GET /deep ") } } })
        #expect(await eventually { backend.answered.load(ordering: .relaxed) >= answered + 4 })
        #expect(checker.state(of: t.identity) == .healthy)
        #expect(transitions.states(of: t.identity) == [.healthy], "a reload must not send a backend through checking again")
    }

    @Test func changedThresholdsApplyFromTheNextProbe() async throws {
        let backend = try TestBackend()
        defer { backend.stop() }
        let (checker, transitions) = try startChecker()
        defer { checker.stop() }
        transitions.sample { _ in backend.answeredBad.load(ordering: .relaxed) }
        let t = target(backend.address, try healthCheck(intervalMS: 30, rise: 1, fall: 5))
        checker.configure([t])
        #expect(await eventually { checker.state(of: t.identity) == .healthy })

        var quicker = t
        quicker.check.fall = 1
        quicker.check.path = "/v2"   // tells when probes run under the new settings
        checker.configure([quicker])
        #expect(await eventually { backend.requests.withLock { $0.contains { $0.hasPrefix("GET /v2 ") } } })
        backend.status.store(503, ordering: .relaxed)
        #expect(await eventually { checker.state(of: t.identity) == .unhealthy })
        #expect(transitions.of(t.identity).last?.sample == 1, "fall is now 1: one bad answer is enough")
    }

    @Test func aNewIdentityStartsCheckingAndARemovedOneStopsBeingProbed() async throws {
        let kept = try TestBackend()
        defer { kept.stop() }
        let removed = try TestBackend()
        defer { removed.stop() }
        let added = try TestBackend()
        defer { added.stop() }
        let (checker, transitions) = try startChecker()
        defer { checker.stop() }
        let check = try healthCheck(intervalMS: 30, rise: 2, fall: 2)
        let a = target(kept.address, check)
        let b = target(removed.address, check)
        let c = target(added.address, check)
        checker.configure([a, b])
        #expect(await eventually { checker.state(of: a.identity) == .healthy && checker.state(of: b.identity) == .healthy })

        checker.configure([a, c])
        let probesOfRemoved = removed.accepted.load(ordering: .relaxed)
        #expect(checker.state(of: c.identity) == .checking, "visible as checking as soon as configure returns")
        #expect(checker.state(of: b.identity) == nil)
        #expect(checker.states().count == 2)
        #expect(await eventually { checker.state(of: c.identity) == .healthy })
        #expect(transitions.states(of: c.identity) == [.healthy])

        // Several intervals of probes of the others pass; the removed backend gets at most the
        // one probe that may have started before the checker thread applied the new set.
        let probesOfKept = kept.answered.load(ordering: .relaxed)
        #expect(await eventually { kept.answered.load(ordering: .relaxed) >= probesOfKept + 5 })
        #expect(removed.accepted.load(ordering: .relaxed) <= probesOfRemoved + 1)
        #expect(checker.state(of: b.identity) == nil)
        #expect(checker.state(of: a.identity) == .healthy)
    }

    @Test func aBackendReAddedLaterStartsOverAsChecking() async throws {
        let backend = try TestBackend()
        defer { backend.stop() }
        let (checker, _) = try startChecker()
        defer { checker.stop() }
        let t = target(backend.address, try healthCheck(intervalMS: 30, rise: 2))
        checker.configure([t])
        #expect(await eventually { checker.state(of: t.identity) == .healthy })
        checker.configure([])
        #expect(checker.states().isEmpty)
        checker.configure([t])
        #expect(checker.state(of: t.identity) == .checking)
        #expect(await eventually { checker.state(of: t.identity) == .healthy })
    }

    @Test func targetsConfiguredBeforeStartAreProbedOnceStarted() async throws {
        let backend = try TestBackend()
        defer { backend.stop() }
        let checker = try HealthChecker(seed: 3, threadName: "test-health") { _, _ in }
        defer { checker.stop() }
        let t = target(backend.address, try healthCheck(intervalMS: 30, rise: 1))
        checker.configure([t])
        #expect(checker.state(of: t.identity) == .checking)
        try checker.start()
        #expect(await eventually { checker.state(of: t.identity) == .healthy })
    }

    @Test func stopEndsProbing() async throws {
        let backend = try TestBackend()
        defer { backend.stop() }
        let (checker, _) = try startChecker()
        let t = target(backend.address, try healthCheck(intervalMS: 20, rise: 1))
        checker.configure([t])
        #expect(await eventually { checker.state(of: t.identity) == .healthy })
        checker.stop()
        let probes = backend.accepted.load(ordering: .relaxed)
        // A second backend probed by another checker marks the passage of time.
        let clock = try TestBackend()
        defer { clock.stop() }
        let (other, _) = try startChecker()
        defer { other.stop() }
        other.configure([target(clock.address, try healthCheck(intervalMS: 20))])
        #expect(await eventually { clock.answered.load(ordering: .relaxed) >= 5 })
        #expect(backend.accepted.load(ordering: .relaxed) == probes)
        #expect(checker.state(of: t.identity) == .healthy, "the last states stay readable")
    }

    @Test func targetsForAConfigListOnlyPoolsWithAHealthCheck() throws {
        let yaml = """
            listeners:
              - { name: web, listen: 127.0.0.1:8080, route: app }
            routes:
              app:
                pools: { blue: 100, green: 0 }
            pools:
              blue:
                health_check: { type: tcp, interval: 1s }
                backends: [{ address: 127.0.0.1:9001 }, { address: "[::1]:9002" }]
              green:
                backends: [{ address: 127.0.0.1:9101 }]

            """
        let config = try ConfigLoader.parse(yaml: yaml, file: "test.yaml")
        let targets = try HealthTarget.targets(for: config)
        #expect(targets.map(\.identity) == [
            BackendIdentity(pool: "blue", address: "127.0.0.1:9001"),
            BackendIdentity(pool: "blue", address: "[::1]:9002"),
        ])
        #expect(targets.map(\.address.description) == ["127.0.0.1:9001", "[::1]:9002"])
        #expect(targets.allSatisfy { $0.check.type == .tcp })
    }
}

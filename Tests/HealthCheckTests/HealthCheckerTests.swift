import Balancer
import Config
import EventLoop
import HealthCheck
import Testing

/// The checker against real loopback backends: verdicts, hysteresis and timing. Waiting is by
/// condition with a deadline; counts taken at each transition tie a verdict to the exact number of
/// probes behind it.
@Suite struct HealthCheckerTests {
    @Test func aBackendAnswering200BecomesHealthyAfterExactlyRiseProbes() async throws {
        let backend = try TestBackend()
        defer { backend.stop() }
        let (checker, transitions) = try startChecker()
        defer { checker.stop() }
        transitions.sample { _ in backend.answered.load(ordering: .relaxed) }
        let t = target(backend.address, try healthCheck(intervalMS: 50, rise: 3, fall: 2))

        checker.configure([t])
        #expect(checker.state(of: t.identity) == .checking)
        #expect(await eventually { backend.answered.load(ordering: .relaxed) >= 2 })
        #expect(checker.state(of: t.identity) == .checking, "healthy before rise probes")
        #expect(await eventually { checker.state(of: t.identity) == .healthy })

        let seen = transitions.of(t.identity)
        #expect(seen.map(\.state) == [.healthy])
        #expect(seen.first?.sample == 3, "turned healthy after \(seen.first?.sample ?? -1) answers, rise is 3")
    }

    @Test func closingTheListenerMakesItUnhealthyAfterFallFailures() async throws {
        let backend = try TestBackend()
        let (checker, transitions) = try startChecker()
        defer { checker.stop() }
        let interval: UInt64 = 100
        let t = target(backend.address, try healthCheck(intervalMS: Int64(interval), rise: 1, fall: 3))
        checker.configure([t])
        #expect(await eventually { checker.state(of: t.identity) == .healthy })

        backend.stop()
        let killed = MonotonicClock.now()
        #expect(await eventually { checker.state(of: t.identity) == .unhealthy })
        let entry = try #require(transitions.of(t.identity).last)
        #expect(entry.state == .unhealthy)
        // Three refused probes: the first within one interval (+10 %) of the kill, then two gaps
        // of 90-110 % of the interval.
        let elapsed = (entry.at - killed) / millisecond
        #expect(elapsed >= 2 * interval * 9 / 10, "unhealthy after \(elapsed) ms: fewer than fall failures?")
        #expect(elapsed <= 3 * interval * 11 / 10 + 200, "unhealthy only after \(elapsed) ms")
        #expect(transitions.states(of: t.identity) == [.healthy, .unhealthy])
    }

    @Test func fallCountsConsecutiveBadAnswersExactly() async throws {
        let backend = try TestBackend()
        defer { backend.stop() }
        let (checker, transitions) = try startChecker()
        defer { checker.stop() }
        transitions.sample { _ in backend.answeredBad.load(ordering: .relaxed) }
        let t = target(backend.address, try healthCheck(intervalMS: 40, rise: 1, fall: 3))
        checker.configure([t])
        #expect(await eventually { checker.state(of: t.identity) == .healthy })

        backend.status.store(500, ordering: .relaxed)
        #expect(await eventually { checker.state(of: t.identity) == .unhealthy })
        let entry = try #require(transitions.of(t.identity).last)
        #expect(entry.state == .unhealthy)
        #expect(entry.sample == 3, "unhealthy after \(entry.sample) bad answers, fall is 3")
    }

    @Test func a500CountsAsFailureUnlessExpected() async throws {
        let backend = try TestBackend(status: 500)
        defer { backend.stop() }
        let (checker, transitions) = try startChecker()
        defer { checker.stop() }
        let failing = target(backend.address, try healthCheck(intervalMS: 30, rise: 1, fall: 1), name: "expects-2xx-3xx")
        let accepting = target(backend.address, try healthCheck(intervalMS: 30, rise: 1, fall: 1, expect: [500...500]),
                               name: "expects-500")
        checker.configure([failing, accepting])

        #expect(await eventually { backend.answered.load(ordering: .relaxed) >= 8 })
        #expect(checker.state(of: failing.identity) == .unhealthy)
        #expect(transitions.states(of: failing.identity) == [.unhealthy])
        #expect(checker.state(of: accepting.identity) == .healthy)
    }

    @Test func anHTTPProbeSendsTheDocumentedRequest() async throws {
        let backend = try TestBackend()
        defer { backend.stop() }
        let (checker, _) = try startChecker()
        defer { checker.stop() }
        let plain = target(backend.address, try healthCheck(intervalMS: 30, path: "/ready?x=1"), name: "127.0.0.1:9001")
        checker.configure([plain])
        #expect(await eventually { backend.answered.load(ordering: .relaxed) >= 1 })
        let first = try #require(backend.requests.withLock { $0.first })
        #expect(first == "GET /ready?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: cutover-health\r\nConnection: close\r\n\r\n")

        let named = target(backend.address, try healthCheck(intervalMS: 30, host: "status.internal"))
        checker.configure([named])
        #expect(await eventually { backend.requests.withLock { $0.contains { $0.contains("Host: status.internal\r\n") } } })
    }

    @Test func tcpCheckPassesOnAListeningPortAndFailsOnAClosedOne() async throws {
        let backend = try TestBackend(.acceptAndClose)
        defer { backend.stop() }
        let closed = try closedPort()
        let (checker, transitions) = try startChecker()
        defer { checker.stop() }
        let up = target(backend.address, try healthCheck(.tcp, intervalMS: 30, rise: 2, fall: 2))
        let down = target(closed, try healthCheck(.tcp, intervalMS: 30, rise: 2, fall: 2))
        checker.configure([up, down])

        #expect(await eventually { checker.state(of: up.identity) == .healthy })
        #expect(await eventually { checker.state(of: down.identity) == .unhealthy })
        #expect(transitions.states(of: up.identity) == [.healthy])
        #expect(transitions.states(of: down.identity) == [.unhealthy])
        #expect(backend.answered.load(ordering: .relaxed) == 0)
    }

    @Test func portOverrideProbesTheOtherPort() async throws {
        let health = try TestBackend()
        defer { health.stop() }
        let closed = try closedPort()
        let (checker, _) = try startChecker()
        defer { checker.stop() }
        // Traffic port closed, health port up: healthy. Traffic port up, health port closed: not.
        let viaHealthPort = target(closed, try healthCheck(intervalMS: 30, rise: 1, port: health.port))
        let viaClosedPort = target(health.address, try healthCheck(intervalMS: 30, rise: 1, fall: 1, port: closed.port))
        checker.configure([viaHealthPort, viaClosedPort])

        #expect(await eventually { checker.state(of: viaHealthPort.identity) == .healthy })
        #expect(await eventually { checker.state(of: viaClosedPort.identity) == .unhealthy })
        let hosts = health.requests.withLock { $0 }.compactMap { $0.split(separator: "\r\n").first { $0.hasPrefix("Host: ") } }
        #expect(Set(hosts) == ["Host: \(closed.description)"], "the Host header names the backend, not the health port")
    }

    @Test func aBackendThatNeverAnswersFailsWithinTheTimeout() async throws {
        let backend = try TestBackend(.silent)
        defer { backend.stop() }
        let (checker, transitions) = try startChecker()
        defer { checker.stop() }
        let timeout: UInt64 = 200
        let t = target(backend.address, try healthCheck(intervalMS: 1_000, timeoutMS: Int64(timeout), rise: 1, fall: 1))
        checker.configure([t])

        #expect(await eventually { checker.state(of: t.identity) == .unhealthy })
        let failedAt = try #require(transitions.of(t.identity).first?.at)
        let acceptedAt = try #require(backend.acceptTimes.withLock { $0.first })
        let waited = (failedAt - acceptedAt) / millisecond
        #expect(waited >= timeout - 10, "gave up after \(waited) ms, timeout is \(timeout) ms")
        #expect(waited <= timeout + 150, "gave up only after \(waited) ms, timeout is \(timeout) ms")
    }
}

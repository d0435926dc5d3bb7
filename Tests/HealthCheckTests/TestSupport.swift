import Balancer
import Config
import EventLoop
import HealthCheck
import Testing

/// Test helpers for the health checker: check settings, targets, a transition recorder, and
/// waiting for a condition with a deadline (polling, since the condition lives on another thread).

let millisecond: UInt64 = 1_000_000

/// A health check as the config loader builds it (its initialiser is internal to Config), then
/// adjusted field by field.
func healthCheck(_ type: HealthCheckType = .http, intervalMS: Int64 = 100, timeoutMS: Int64 = 500,
                 rise: Int = 2, fall: Int = 2, expect: [ClosedRange<Int>] = [200...399],
                 port: UInt16? = nil, path: String = "/healthz", host: String? = nil) throws -> HealthCheckConfig {
    let yaml = """
        listeners:
          - { name: web, listen: 127.0.0.1:8080, route: app }
        routes:
          app:
            pools: { blue: 100 }
        pools:
          blue:
            health_check: {}
            backends: [{ address: 127.0.0.1:9001 }]

        """
    var check = try #require(try ConfigLoader.parse(yaml: yaml, file: "test.yaml").pool(named: "blue")?.healthCheck)
    check.type = type
    check.interval = .milliseconds(intervalMS)
    check.timeout = .milliseconds(timeoutMS)
    check.rise = rise
    check.fall = fall
    check.expectStatus = expect
    check.port = port
    check.path = path
    check.host = host
    return check
}

/// A target named after `address` (pool `pool`), probing `address`.
func target(_ address: SocketAddress, _ check: HealthCheckConfig, pool: String = "blue",
            name: String? = nil) -> HealthTarget {
    HealthTarget(identity: BackendIdentity(pool: pool, address: name ?? address.description),
                 address: address, check: check)
}

/// A loopback port nothing listens on: bound, then closed (connects are refused).
func closedPort() throws -> SocketAddress {
    let any = try #require(SocketAddress(ip: "127.0.0.1", port: 0))
    let fd = try Socket.listen(on: any, backlog: 1, reusePort: false)
    let address = try #require(Socket.localAddress(fd))
    Socket.close(fd)
    return address
}

/// Every transition the checker reported, with when it came and a number the test chose to
/// sample at that moment (say, how many probes a backend had answered).
final class Transitions: Sendable {
    struct Entry: Sendable {
        var identity: BackendIdentity
        var state: HealthState
        var at: UInt64
        var sample: Int
    }

    private let entries = Locked<[Entry]>([])
    private let sampler = Locked<@Sendable (BackendIdentity) -> Int>({ _ in 0 })

    /// What to sample at each transition (runs on the checker thread).
    func sample(_ body: @escaping @Sendable (BackendIdentity) -> Int) {
        sampler.withLock { $0 = body }
    }

    func record(_ identity: BackendIdentity, _ state: HealthState) {
        let value = sampler.withLock { $0 }(identity)
        entries.withLock { $0.append(Entry(identity: identity, state: state, at: MonotonicClock.now(), sample: value)) }
    }

    func of(_ identity: BackendIdentity) -> [Entry] {
        entries.withLock { $0.filter { $0.identity == identity } }
    }

    func states(of identity: BackendIdentity) -> [HealthState] { of(identity).map(\.state) }
}

/// A started checker whose transitions land in the returned recorder.
func startChecker(seed: UInt64 = 7, threadName: String = "test-health") throws -> (HealthChecker, Transitions) {
    let transitions = Transitions()
    let checker = try HealthChecker(seed: seed, threadName: threadName) { identity, state in
        transitions.record(identity, state)
    }
    try checker.start()
    return (checker, transitions)
}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: UInt64 = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = MonotonicClock.now() + seconds * 1_000 * millisecond
    while MonotonicClock.now() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return condition()
}

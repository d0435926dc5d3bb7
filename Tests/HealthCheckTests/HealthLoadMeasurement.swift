import Config
import EventLoop
import Foundation
import Glibc
import HealthCheck
import Testing

/// Not a test of behaviour but a measurement (ARCHITECTURE.md: benchmarks report, tests assert):
/// a thousand targets at a one-second interval, against a few local listeners, for five seconds;
/// prints the CPU time the checker thread used. Runs only with `CUTOVER_MEASURE_HEALTH=1`:
///
///     CUTOVER_MEASURE_HEALTH=1 swift test --filter HealthLoadMeasurement
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CUTOVER_MEASURE_HEALTH"] == "1"))
struct HealthLoadMeasurement {
    @Test(arguments: [HealthCheckType.http, .tcp])
    func aThousandTargetsAtOneSecond(type: HealthCheckType) async throws {
        let backends = try (0..<4).map { _ in try TestBackend(type == .http ? .answer : .acceptAndClose) }
        defer { backends.forEach { $0.stop() } }
        let name = "hc-load-\(type.rawValue)"
        let (checker, _) = try startChecker(seed: 99, threadName: name)
        defer { checker.stop() }
        let check = try healthCheck(type, intervalMS: 1_000, timeoutMS: 1_000, rise: 2, fall: 3)
        let targets = (0..<1_000).map { i in
            target(backends[i % backends.count].address, check, name: "10.1.\(i / 256).\(i % 256):8080")
        }
        let tid = try #require(threadID(named: name))
        let before = try #require(cpuTime(task: "/proc/self/task/\(tid)"))
        let start = MonotonicClock.now()
        checker.configure(targets)
        #expect(await eventually(within: 10) { MonotonicClock.now() - start >= 5_000 * millisecond })
        let after = try #require(cpuTime(task: "/proc/self/task/\(tid)"))
        let cpu = after.total - before.total
        let wall = MonotonicClock.now() - start
        let probes = backends.reduce(0) { $0 + $1.accepted.load(ordering: .relaxed) }
        let healthy = checker.states().values.filter { $0 == .healthy }.count
        print("""
            health checker load (\(type.rawValue)): 1000 targets, 1 s interval, \(wall / millisecond) ms wall: \
            checker thread CPU \(cpu / millisecond) ms (\(String(format: "%.2f", Double(cpu) / Double(wall) * 100)) % of one core; \
            user \((after.user - before.user) / millisecond) ms, system \((after.system - before.system) / millisecond) ms), \
            \(probes) probes, \(probes > 0 ? cpu / UInt64(probes) / 1_000 : 0) µs CPU per probe, \(healthy) healthy
            """)
        #expect(probes >= 4_000)
        #expect(healthy == 1_000)

        // The same exchanges done one after another with blocking sockets on this thread: what
        // the kernel alone charges for them (on loopback, the backend's side of each handshake is
        // processed in the connecting thread too), for comparison with the figure above.
        let floor = try kernelFloor(type: type, to: backends.map(\.address), count: probes)
        print("""
            kernel floor (\(type.rawValue)): \(probes) blocking loopback exchanges from one thread: \
            CPU \(floor.total / millisecond) ms (user \(floor.user / millisecond) ms, system \(floor.system / millisecond) ms)
            """)
    }

    /// CPU time of this thread for `count` sequential blocking probes (connect, then for http the
    /// request and the answer, then close). Synchronous, so the task cannot change threads.
    private func kernelFloor(type: HealthCheckType, to addresses: [SocketAddress], count: Int) throws
        -> (total: UInt64, user: UInt64, system: UInt64) {
        let request = Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        var buffer = [UInt8](repeating: 0, count: 4096)
        // /proc/thread-self: the calling thread's own task directory.
        let before = try #require(cpuTime(task: "/proc/thread-self"))
        for i in 0..<count {
            let address = addresses[i % addresses.count]
            let fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
            try #require(fd >= 0)
            defer { Glibc.close(fd) }
            let length = address.length
            var storage = address.storage
            let rc = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
            }
            try #require(rc == 0)
            guard type == .http else { continue }
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            while buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) > 0 {}
        }
        let after = try #require(cpuTime(task: "/proc/thread-self"))
        return (after.total - before.total, after.user - before.user, after.system - before.system)
    }

    /// The id of this process's thread called `name` (`/proc/self/task/*/comm`).
    private func threadID(named name: String) -> String? {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.first { tid in
            let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)
            return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == String(name.prefix(15))
        }
    }

    /// Time the thread spent on a CPU, in nanoseconds: in total (schedstat's first field, else
    /// utime + stime of stat) and split into user and system time (stat, clock ticks).
    private func cpuTime(task: String) -> (total: UInt64, user: UInt64, system: UInt64)? {
        guard let stat = try? String(contentsOfFile: "\(task)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3, utime 14, stime 15 (in clock ticks).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let userTicks = UInt64(fields[11]), let systemTicks = UInt64(fields[12]) else { return nil }
        let tick = 1_000_000_000 / UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        let user = userTicks * tick
        let system = systemTicks * tick
        if let text = try? String(contentsOfFile: "\(task)/schedstat", encoding: .utf8),
           let first = text.split(separator: " ").first, let total = UInt64(first) {
            return (total, user, system)
        }
        return (user + system, user, system)
    }
}

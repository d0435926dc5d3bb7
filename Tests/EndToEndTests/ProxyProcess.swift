import Foundation
import Glibc

/// The `cutover` binary under test: `swift test` builds every product of the package into the
/// folder that holds the test binary.
enum CutoverBinary {
    static var url: URL {
        get throws {
            var folders: [URL] = []
            if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                folders.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
            }
            folders.append(Bundle.module.bundleURL.deletingLastPathComponent())
            for folder in folders {
                let candidate = folder.appendingPathComponent("cutover")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            }
            throw ChildFailure("no cutover binary in \(folders.map(\.path)); build it with swift build first")
        }
    }

    /// Runs `cutover <arguments>` to completion (for `check`, `demo --print-config`).
    static func run(_ arguments: [String], in directory: URL, timeout: Duration = .seconds(20)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(try url, arguments, label: "cutover-\(arguments.first ?? "")", in: directory)
        defer { child.kill() }
        let status = try await child.waitForExit(timeout: timeout)
        return (status, child.stdoutText, child.stderrText)
    }
}

/// A running `cutover run -c FILE`, its config file in the test's directory.
final class ProxyProcess: @unchecked Sendable {
    let child: ChildProcess
    let configURL: URL
    /// The first listener's port.
    let port: UInt16

    private init(child: ChildProcess, configURL: URL, port: UInt16) {
        self.child = child
        self.configURL = configURL
        self.port = port
    }

    /// Starts the proxy and waits until its first listener accepts connections.
    static func start(_ config: ProxyConfig, in directory: URL) async throws -> ProxyProcess {
        let configURL = directory.appendingPathComponent("cutover-\(UUID().uuidString.prefix(8)).yaml")
        try config.yaml.write(to: configURL, atomically: true, encoding: .utf8)
        let child = try ChildProcess(try CutoverBinary.url, ["run", "-c", configURL.path], label: "cutover", in: directory)
        let proxy = ProxyProcess(child: child, configURL: configURL, port: config.listeners[0].port)
        do {
            try await waitUntil("the proxy accepts connections on \(proxy.port)") {
                if !child.isRunning { throw ChildFailure("cutover exited at start-up: \(child.stderrText)") }
                return config.listeners.allSatisfy { Ports.isAccepting($0.port) }
            }
        } catch {
            child.kill()
            throw error
        }
        return proxy
    }

    var pid: Int32 { child.pid }

    /// Resident memory of the proxy process, in bytes.
    func residentBytes() throws -> Int {
        try MemorySampler.residentBytes(pid: pid)
    }

    /// Rewrites the config file and sends SIGHUP.
    func reload(_ yaml: String) throws {
        try yaml.write(to: configURL, atomically: true, encoding: .utf8)
        child.send(signal: SIGHUP)
    }
}

/// Samples a process's resident memory every 10 ms on a thread of its own (a task could be
/// starved of the cooperative threads by a busy test run and miss the moment that matters).
final class MemorySampler: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var peak = 0
    private var count = 0
    private let finished = DispatchSemaphore(value: 0)

    init(pid: Int32) {
        Thread { [self] in
            while lock.withLock({ running }) {
                if let bytes = try? MemorySampler.residentBytes(pid: pid) {
                    lock.withLock {
                        peak = max(peak, bytes)
                        count += 1
                    }
                }
                usleep(10_000)
            }
            finished.signal()
        }.start()
    }

    /// Stops sampling; returns the largest resident size seen and how many samples were taken.
    func stop() -> (peak: Int, samples: Int) {
        lock.withLock { running = false }
        finished.wait()
        return lock.withLock { (peak, count) }
    }

    /// VmRSS of /proc/PID/status, in bytes.
    static func residentBytes(pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        else { throw ChildFailure("no VmRSS in /proc/\(pid)/status") }
        return kilobytes * 1024
    }
}

import Foundation
import Glibc
import Testing

/// The process log on stderr: one line per event (time, level, message), and `--log-level` /
/// `CUTOVER_LOG_LEVEL` choosing what is written.
@Suite struct ProcessLoggingTests {
    /// Starts `cutover run` on a fresh config with `arguments` and `environment`; waits until it
    /// accepts connections.
    private func start(_ bed: TestBed, _ arguments: [String], environment: [String: String] = [:]) async throws
        -> (child: ChildProcess, config: URL, yaml: String) {
        let blue = try await bed.backend("blue")
        let config = ProxyConfig.http(port: try Ports.free(), backends: [blue])
        let url = bed.directory.appendingPathComponent("cutover.yaml")
        try config.yaml.write(to: url, atomically: true, encoding: .utf8)
        let child = try ChildProcess(try CutoverBinary.url, ["run", "-c", url.path] + arguments, label: "cutover",
                                     in: bed.directory, environment: environment)
        try await waitUntil("the proxy accepts connections") {
            if !child.isRunning { throw ChildFailure("cutover exited: \(child.stderrText)") }
            return Ports.isAccepting(config.listeners[0].port)
        }
        return (child, url, config.yaml)
    }

    private let linePattern = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trace|debug|info|notice|warning|error|critical) \S.*$/#

    @Test func eachEventIsOneLineWithTimeLevelAndMessage() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let (child, config, yaml) = try await start(bed, [])
        defer { child.kill() }
        try (yaml + "bogus_key: 1\n").write(to: config, atomically: true, encoding: .utf8)
        child.send(signal: SIGHUP)
        try await waitUntil("the rejected reload is logged") { child.stderrText.contains("reload rejected") }
        child.send(signal: SIGTERM)
        #expect(try await child.waitForExit(timeout: .seconds(8)) == 0)

        let lines = child.stderrText.split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { $0.wholeMatch(of: linePattern) != nil }, "\(lines)")
        #expect(lines.contains { $0.contains(" info cutover started: 1 worker(s)") }, "\(lines)")
        #expect(lines.contains { $0.contains(" error reload rejected, still serving generation 1: \(config.path):") }, "\(lines)")
        #expect(lines.contains { $0.contains(" info SIGTERM: stopping") }, "\(lines)")
    }

    @Test func theLevelOptionAndTheEnvironmentChooseWhatIsWritten() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        // The option wins over the environment: only errors and worse.
        let (child, config, yaml) = try await start(bed, ["--log-level", "error"], environment: ["CUTOVER_LOG_LEVEL": "debug"])
        defer { child.kill() }
        try (yaml + "bogus_key: 1\n").write(to: config, atomically: true, encoding: .utf8)
        child.send(signal: SIGHUP)
        try await waitUntil("the rejected reload is logged") { child.stderrText.contains("reload rejected") }
        child.send(signal: SIGTERM)
        #expect(try await child.waitForExit(timeout: .seconds(8)) == 0)
        let lines = child.stderrText.split(separator: "\n")
        #expect(lines.count == 1 && lines.allSatisfy { $0.contains(" error reload rejected") }, "\(lines)")

        // A level that does not exist is refused before anything starts.
        let refused = try await CutoverBinary.run(["run", "-c", config.path, "--log-level", "loud"], in: bed.directory)
        #expect(refused.status == 64 && refused.stderr.contains("unknown log level 'loud'"), "\(refused.stderr)")
    }
}

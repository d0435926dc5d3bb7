import Foundation
import Glibc
import Testing

/// The deployment files in conf/: the Prometheus scrape config and alert rules through promtool
/// (installed by scripts/test), the systemd unit's contract (and `systemd-analyze verify` where
/// systemd is installed), and the logrotate snippet driving a real rotation of a running proxy.
@Suite struct DeploymentFilesTests {
    /// The repository's conf/ folder (this file is Tests/EndToEndTests/DeploymentFilesTests.swift).
    static let conf = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("conf")

    /// Runs `command arguments…` to completion; its status and everything it printed.
    private func run(_ command: String, _ arguments: [String], in bed: TestBed) async throws -> (status: Int32, output: String) {
        guard let path = ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"].map({ "\($0)/\(command)" })
                .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ChildFailure("\(command) is not installed (scripts/test installs it)")
        }
        let child = try ChildProcess(URL(fileURLWithPath: path), arguments, label: command, in: bed.directory)
        defer { child.kill() }
        let status = try await child.waitForExit(timeout: .seconds(60))
        return (status, child.stdoutText + child.stderrText)
    }

    @Test func prometheusConfigAndAlertRulesPassPromtool() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let prometheus = Self.conf.appendingPathComponent("prometheus")
        for arguments in [["check", "config", prometheus.appendingPathComponent("prometheus.yml").path],
                          ["check", "rules", prometheus.appendingPathComponent("cutover-alerts.yml").path],
                          ["test", "rules", prometheus.appendingPathComponent("cutover-alerts.test.yml").path]] {
            let (status, output) = try await run("promtool", arguments, in: bed)
            #expect(status == 0, "promtool \(arguments.joined(separator: " ")):\n\(output)")
        }
    }

    /// The alert rules use only series cutover exports, with their labels (INTERFACE.md).
    @Test func alertRulesNameTheExportedSeries() throws {
        let rules = try String(contentsOf: Self.conf.appendingPathComponent("prometheus/cutover-alerts.yml"), encoding: .utf8)
        for series in ["cutover_requests_total{code=\"5xx\"", "cutover_request_duration_seconds_bucket",
                       "cutover_backend_up", "cutover_route_pool_weight", "cutover_config_reloads_total{result=\"failure\"}",
                       "cutover_access_log_dropped_total"] {
            #expect(rules.contains(series), "\(series)")
        }
        #expect(rules.contains("by (job, instance, pool, le)"))
    }

    /// `KEY=value` lines of the unit (the last one wins, as systemd reads single-valued keys).
    private func unitSettings() throws -> [String: [String]] {
        let text = try String(contentsOf: Self.conf.appendingPathComponent("cutover.service"), encoding: .utf8)
        var settings: [String: [String]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("[") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            settings[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
        }
        return settings
    }

    /// Seconds of a systemd time span such as `45s`, `1min 30s`, `2min`.
    private func seconds(_ span: String) -> Double? {
        var total = 0.0
        for part in span.split(separator: " ") {
            let digits = part.prefix { $0.isNumber || $0 == "." }
            guard let value = Double(digits) else { return nil }
            switch part.dropFirst(digits.count) {
            case "", "s", "sec": total += value
            case "min", "m": total += value * 60
            case "ms": total += value / 1000
            default: return nil
            }
        }
        return total
    }

    @Test func systemdUnitRunsReloadsAndStopsAsTheInterfaceSays() async throws {
        let unit = try unitSettings()
        // sd_notify: READY, RELOADING, STOPPING, and MAINPID from the old process at an upgrade.
        #expect(unit["Type"] == ["notify"])
        #expect(unit["NotifyAccess"] == ["all"])
        #expect(unit["StateDirectory"] == ["cutover"], "the rollout state file's home")
        #expect(unit["ExecStart"]?.last?.hasSuffix("cutover run -c /etc/cutover/cutover.yaml") == true, "\(unit["ExecStart"] ?? [])")
        #expect(unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"])
        #expect(unit["KillSignal"] == ["SIGTERM"])
        #expect(unit["KillMode"] == ["mixed"])
        #expect(unit["Restart"] == ["on-failure"])
        // The stop timeout leaves the proxy its whole drain: above shutdown_delay + shutdown of the
        // shipped configuration.
        let config = try String(contentsOf: Self.conf.appendingPathComponent("cutover.yaml"), encoding: .utf8)
        func timeout(_ key: String) -> Double {
            guard let line = config.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(key):") }),
                  let value = line.split(separator: ":").last?.split(separator: "#").first?.trimmingCharacters(in: .whitespaces)
            else { return 0 }
            return seconds(value) ?? 0
        }
        let drain = timeout("shutdown_delay") + timeout("shutdown")
        #expect(drain >= 30)
        let stop = try #require(unit["TimeoutStopSec"]?.last.flatMap(seconds))
        #expect(stop > drain, "TimeoutStopSec \(stop) s must exceed shutdown_delay + shutdown (\(drain) s)")
        // Hardening that still lets it bind :443 and write its log.
        #expect(unit["AmbientCapabilities"]?.last?.contains("CAP_NET_BIND_SERVICE") == true)
        #expect(unit["NoNewPrivileges"] == ["yes"])
        #expect(unit["ProtectSystem"] == ["strict"])
        #expect(unit["ReadWritePaths"]?.last?.split(separator: " ").contains("/var/log/cutover") == true)
        #expect(unit["LogsDirectory"] == ["cutover"])

        // Where systemd is installed, its own verifier reads the unit (ExecStart pointed at the
        // binary under test, which must exist for it).
        let analyzer = "/usr/bin/systemd-analyze"
        if FileManager.default.isExecutableFile(atPath: analyzer) {
            let bed = try TestBed()
            defer { bed.tearDown() }
            let text = try String(contentsOf: Self.conf.appendingPathComponent("cutover.service"), encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/cutover", with: try CutoverBinary.url.path)
            let copy = bed.directory.appendingPathComponent("cutover.service")
            try text.write(to: copy, atomically: true, encoding: .utf8)
            let (status, output) = try await run("systemd-analyze", ["verify", copy.path], in: bed)
            #expect(status == 0 && output.isEmpty, "systemd-analyze verify:\n\(output)")
        }
    }

    /// The shipped snippet, with only its path, the file owner and the signal's target adapted to
    /// the test: logrotate renames the log and creates a new one, its postrotate sends SIGUSR1,
    /// and the proxy writes on in the new file.
    @Test func logrotateRotatesTheAccessLogOfARunningProxy() async throws {
        let snippet = try String(contentsOf: Self.conf.appendingPathComponent("logrotate/cutover"), encoding: .utf8)
        #expect(snippet.contains("/var/log/cutover/access.log {"))
        #expect(snippet.contains("\n    create 0640 cutover cutover\n"))
        #expect(snippet.contains("systemctl kill --signal=USR1 --kill-whom=main cutover.service"))
        #expect(snippet.contains("delaycompress"))

        let s = try await AccessLogTests.start()
        defer { s.bed.tearDown() }
        _ = try await curlSequence(port: s.proxy.port, path: "/?before", count: 2, in: s.bed.directory)
        _ = try await AccessLogFile.waitForLines(at: s.log, count: 2)

        let user = String(cString: getpwuid(getuid()).pointee.pw_name)
        let group = String(cString: getgrgid(getgid()).pointee.gr_name)
        let adapted = snippet
            .replacingOccurrences(of: "/var/log/cutover/access.log", with: s.log.path)
            .replacingOccurrences(of: "create 0640 cutover cutover", with: "create 0640 \(user) \(group)")
            .replacingOccurrences(of: "systemctl kill --signal=USR1 --kill-whom=main cutover.service", with: "kill -USR1 \(s.proxy.pid)")
        let config = s.bed.directory.appendingPathComponent("logrotate.conf")
        try adapted.write(to: config, atomically: true, encoding: .utf8)
        let state = s.bed.directory.appendingPathComponent("logrotate.state").path
        let (status, output) = try await run("logrotate", ["--force", "--state", state, config.path], in: s.bed)
        #expect(status == 0, "logrotate:\n\(output)")

        try await waitUntil("the proxy reopened its log") { s.proxy.child.stderrText.contains("access log reopened") }
        _ = try await curlSequence(port: s.proxy.port, path: "/?after", count: 3, in: s.bed.directory)
        let fresh = try await AccessLogFile.waitForLines(at: s.log, count: 3)
        #expect(fresh.map { $0.string("target") } == ["/?after", "/?after", "/?after"])
        let rotated = s.bed.directory.appendingPathComponent("access.log.1")
        #expect(try AccessLogFile.lines(at: rotated).map { $0.string("target") } == ["/?before", "/?before"])
        let mode = try FileManager.default.attributesOfItem(atPath: s.log.path)[.posixPermissions] as? Int
        #expect(mode == 0o640)
    }
}

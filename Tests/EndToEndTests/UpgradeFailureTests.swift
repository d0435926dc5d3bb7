import Foundation
import Glibc
import Testing

/// Binary upgrade, item 5 of the tests: a new process that fails leaves the old one serving. A
/// binary that exits at once (`/bin/false`, a script exiting 3), one that never says it is
/// ready (killed when `--timeout 2s` ends, not left behind), and the real binary given a config
/// that no longer validates: each time `cutover upgrade` exits 1 with the reason, `/status`
/// shows the same pid and the failure, clients under load see no error, and a later upgrade
/// (the config put right) goes through.
@Suite struct UpgradeFailureTests {
    enum Failure: String, CaseIterable, CustomStringConvertible {
        case binFalse, exitsThree, hangs, invalidConfig
        var description: String { rawValue }
    }

    @Test(arguments: Failure.allCases)
    func aFailedNewProcessLeavesTheOldOneServing(_ failure: Failure) async throws {
        let bed = try TestBed()
        let a = try await bed.backend("a")
        let u = try await UpgradeBed.start(for: [a], in: bed)
        defer { u.tearDown() }
        let pid = try await u.servingPid()
        let pidFile = bed.directory.appendingPathComponent("hang.pid")
        let goodConfig = try String(contentsOf: u.configURL, encoding: .utf8)

        var arguments: [String] = []
        var reason: [String] = []
        switch failure {
        case .binFalse:
            arguments = ["--binary", "/bin/false"]
            reason = ["/bin/false", "exited with status 1 before it was ready"]
        case .exitsThree:
            let script = try u.script("exit3.sh", "exit 3")
            arguments = ["--binary", script.path]
            reason = ["exit3.sh", "exited with status 3 before it was ready"]
        case .hangs:
            let script = try u.script("hang.sh", "echo $$ > '\(pidFile.path)'\nexec sleep 60")
            arguments = ["--binary", script.path, "--timeout", "2s"]
            reason = ["hang.sh", "not ready within 2 s"]
        case .invalidConfig:
            try goodConfig.replacingOccurrences(of: "weight: 1 }", with: "weight: heavy }")
                .write(to: u.configURL, atomically: true, encoding: .utf8)
            reason = ["refused to start", "weight", "expected an integer"]
        }

        let load = try LoadGenerator.start(port: u.port, keepAlive: 1, fresh: 1, limit: .seconds(30), in: bed.directory)
        defer { load.kill() }
        try await waitUntil("the load runs") { try await a.counts().heads >= 20 }
        let upgrade = try await u.upgrade(arguments)
        let tookMs = milliseconds(upgrade.asked, upgrade.returned)
        #expect(upgrade.status == 1, "\(upgrade)")
        #expect(upgrade.stderr.contains("upgrade failed; pid \(pid) still serves"), "\(upgrade.stderr)")
        for part in reason { #expect(upgrade.stderr.contains(part), "\(upgrade.stderr)") }

        // The old process serves on, as if nothing happened.
        #expect(try await u.servingPid() == pid)
        #expect(UpgradeBed.isRunning(u.first.pid))
        let heads = try await a.counts().heads
        try await waitUntil("the load goes on") { try await a.counts().heads >= heads + 50 }
        let answer = try await u.get()
        #expect(answer.status == 200 && answer.header("X-Backend") == "a")
        let status = try await u.status()
        let last = status["last_upgrade"] as? [String: Any]
        #expect(last?["result"] as? String == "failure", "\(String(describing: status["last_upgrade"]))")
        #expect((last?["detail"] as? String ?? "").contains(reason.last!), "\(String(describing: last))")

        switch failure {
        case .hangs:
            #expect(tookMs >= 1900 && tookMs < 5000, "the hanging process was given up after \(tookMs) ms")
            // The process that hung was killed, not left behind.
            let text = try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let hung = try #require(Int32(text))
            try await waitUntil("the hanging process is gone", timeout: .seconds(2)) { !UpgradeBed.isRunning(hung) }
        case .invalidConfig:
            try goodConfig.write(to: u.configURL, atomically: true, encoding: .utf8)
        default:
            #expect(tookMs < 3000)
        }

        // Nothing is stuck: the next upgrade, with the real binary, goes through (under the same
        // load, which also keeps the old process from exiting before it answers).
        let again = try await u.upgrade()
        #expect(again.status == 0, "\(again)")
        #expect(try await u.servingPid() != pid)
        #expect(try await u.get().status == 200)
        let report = try await load.stop()
        #expect(report.failures.isEmpty, "\(report.failureSummary)")
        print("upgrade failure \(failure): exit \(upgrade.status) after \(tookMs) ms: \(upgrade.stderr.trimmingCharacters(in: .whitespacesAndNewlines)); "
              + "then a good upgrade: exit \(again.status); \(report.records.count) requests meanwhile, \(report.failures.count) failed")
    }

    @Test func anUnreachableAdminAPIExits2() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let port = try bed.refusingPort()
        let result = try await CutoverBinary.run(["upgrade", "--admin", "127.0.0.1:\(port)"], in: bed.directory)
        #expect(result.status == 2, "\(result)")
        #expect(!result.stderr.isEmpty)
    }
}

import Foundation
import Testing

/// Binary upgrade, item 7 of the tests: what `/status` and `/metrics` say about the process and
/// its upgrades, before any, after a failed one and after a successful one (the counts carry
/// over to the new process); `POST /upgrade`'s answers; and one upgrade at a time: while the
/// old process still drains (a long request keeps it), another upgrade is refused — `cutover
/// upgrade` exits 1 with the reason, `POST /upgrade` answers 409 — and goes through once it is gone.
@Suite struct UpgradeStatusTests {
    /// An ISO 8601 time in UTC, as `/status` writes it.
    static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    struct Seen {
        var pid: Int
        var version: String
        var startedAt: Date
        var lastUpgrade: [String: Any]?
        var buildVersion: String?
        var startTime: Double?
        var success: Double?
        var failure: Double?
    }

    func read(_ u: UpgradeBed) async throws -> Seen {
        let status = try await u.status()
        let process = try #require(status["process"] as? [String: Any], "\(status)")
        let started = try #require(Self.date(process["started_at"] as? String), "\(process)")
        #expect(status.keys.contains("last_upgrade"), "/status has no last_upgrade key")
        let metrics = try await MetricsScrape.fetch(adminPort: u.adminPort, in: u.bed.directory)
        let build = metrics.samples.filter { $0.name == "cutover_build_info" }
        return Seen(pid: process["pid"] as? Int ?? 0, version: process["version"] as? String ?? "",
                    startedAt: started, lastUpgrade: status["last_upgrade"] as? [String: Any],
                    buildVersion: build.count == 1 && build[0].value == 1 ? build[0].labels["version"] : nil,
                    startTime: metrics.value("cutover_start_time_seconds"),
                    success: metrics.value("cutover_upgrades_total", ["result": "success"]),
                    failure: metrics.value("cutover_upgrades_total", ["result": "failure"]))
    }

    @Test func statusAndMetricsShowTheProcessAndItsUpgradesAndASecondUpgradeWaitsForTheDrain() async throws {
        let bed = try TestBed()
        let a = try await bed.backend("a")
        let launched = Date()
        let u = try await UpgradeBed.start(for: [a], shutdown: "10s", in: bed)
        defer { u.tearDown() }

        // Before any upgrade.
        let first = try await read(u)
        #expect(first.pid == Int(u.first.pid))
        #expect(!first.version.isEmpty && first.buildVersion == first.version, "version \(first.version), build_info \(String(describing: first.buildVersion))")
        #expect(abs(first.startedAt.timeIntervalSince(launched)) < 3, "started_at \(first.startedAt), launched \(launched)")
        #expect(first.startTime.map { abs($0 - first.startedAt.timeIntervalSince1970) <= 1 } == true, "cutover_start_time_seconds \(String(describing: first.startTime))")
        #expect(first.lastUpgrade == nil)
        #expect(first.success == 0 && first.failure == 0)

        // A bad timeout is refused before anything starts.
        let bad = try await u.admin("POST", "/upgrade?timeout=soon")
        #expect(bad.status == 422, "\(bad.bodyText)")
        #expect(try UpgradeBed.json(bad)["ok"] as? Bool == false)

        // A failed upgrade.
        let failed = try await u.admin("POST", "/upgrade?binary=/bin/false")
        #expect(failed.status == 422, "\(failed.bodyText)")
        let failedJSON = try UpgradeBed.json(failed)
        #expect(failedJSON["ok"] as? Bool == false && (failedJSON["error"] as? String ?? "").contains("/bin/false"), "\(failedJSON)")
        let afterFailure = try await read(u)
        #expect(afterFailure.pid == first.pid)
        #expect(afterFailure.lastUpgrade?["result"] as? String == "failure", "\(String(describing: afterFailure.lastUpgrade))")
        #expect((afterFailure.lastUpgrade?["detail"] as? String ?? "").contains("/bin/false"))
        let failedAt = Self.date(afterFailure.lastUpgrade?["at"] as? String)
        #expect(failedAt.map { abs($0.timeIntervalSinceNow) < 5 } == true, "at \(String(describing: afterFailure.lastUpgrade?["at"]))")
        #expect(afterFailure.success == 0 && afterFailure.failure == 1)

        // A long request keeps the old process draining after the next upgrade.
        let slow = try RawClient(port: u.port)
        try slow.send("GET /slow?ms=2500 HTTP/1.1\r\nHost: app\r\n\r\n")
        try await waitUntil("a has the slow request") { try await a.counts().heads == 1 }

        // A successful upgrade through POST /upgrade.
        let upgraded = try await u.admin("POST", "/upgrade")
        #expect(upgraded.status == 200, "\(upgraded.bodyText)")
        let upgradedJSON = try UpgradeBed.json(upgraded)
        let newPid = try #require(upgradedJSON["pid"] as? Int, "\(upgradedJSON)")
        u.remember(Int32(newPid))
        #expect(upgradedJSON["ok"] as? Bool == true)
        let second = try await read(u)
        #expect(second.pid == newPid && newPid != first.pid)
        #expect(second.version == first.version && second.buildVersion == second.version)
        #expect(second.startedAt >= first.startedAt && abs(second.startedAt.timeIntervalSinceNow) < 3, "started_at \(second.startedAt)")
        #expect(second.startTime.map { abs($0 - second.startedAt.timeIntervalSince1970) <= 1 } == true)
        #expect(second.success == 1 && second.failure == 1, "cutover_upgrades_total success \(String(describing: second.success)), failure \(String(describing: second.failure))")
        #expect(second.lastUpgrade?["result"] as? String == "success",
                "after a successful upgrade the new process's /status shows last_upgrade \(String(describing: second.lastUpgrade))")

        // The old process still drains its slow request: another upgrade is refused.
        #expect(UpgradeBed.isRunning(u.first.pid))
        let refused = try await u.upgrade()
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("still draining"), "\(refused.stderr)")
        #expect(refused.stderr.contains("pid \(first.pid)"), "\(refused.stderr)")
        let refusedPost = try await u.admin("POST", "/upgrade")
        #expect(refusedPost.status == 409, "\(refusedPost.bodyText)")
        #expect(try UpgradeBed.json(refusedPost)["ok"] as? Bool == false)
        #expect(try await u.servingPid() == Int32(newPid))
        #expect(UpgradeBed.isRunning(u.first.pid), "the drain should still run here")
        print("upgrade status: refused while pid \(first.pid) drains: \(refused.stderr.trimmingCharacters(in: .whitespacesAndNewlines)); "
              + "POST /upgrade \(refusedPost.status) \(refusedPost.bodyText)")

        // Once the slow request is answered the old process exits, and upgrades go through again.
        #expect(try await slow.readResponse().status == 200)
        #expect(try await slow.closesWithoutMoreData())
        slow.shutdownWrite()  // the old process lingers until the client has closed too
        #expect(try await u.firstExitStatus(timeout: .seconds(2)) == 0)
        let idle = try await u.idleKeepAlive()
        let third = try await u.upgrade()
        withExtendedLifetime(idle) {}
        #expect(third.status == 0, "\(third)")
        let last = try await read(u)
        #expect(last.pid != newPid && last.pid != first.pid)
        #expect(last.success == 2 && last.failure == 1)
        print("upgrade status: pids \(first.pid) -> \(newPid) -> \(last.pid); version \(last.version); upgrades success \(last.success ?? -1), failure \(last.failure ?? -1); last_upgrade \(String(describing: last.lastUpgrade))")
    }
}

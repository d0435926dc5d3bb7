import Foundation
import Testing

/// Binary upgrade, item 1 of the tests: many upgrades in a row under continuous load lose
/// nothing. Clients on new connections and on keep-alive connections run throughout; before
/// each upgrade a WebSocket is opened and a download that lasts 800 ms on every hop (the backend
/// trickles it) is started on the process about to be replaced: the tunnel still carries bytes
/// after the hand-over, the download arrives whole, and no request is refused, reset or failed.
/// The listening sockets are the same ones from start to end (`ss -ltne` inodes), two per
/// listener (two workers) and the admin API's.
@Suite struct UpgradeUnderLoadTests {
    static let upgrades = 15
    static let downloadBytes = 1_000_000
    static let downloadMs = 800

    @Test func manyUpgradesInARowUnderLoadLoseNothing() async throws {
        let bed = try TestBed()
        let a = try await bed.backend("a")
        let trickle = try await UpgradeBed.trickleBackend("files", in: bed)
        let webPort = try Ports.free()
        let downloadPort = try Ports.free()
        let config = ProxyConfig(
            listeners: [.init(name: "web", port: webPort, route: "app"), .init(name: "downloads", port: downloadPort, route: "files")],
            routes: [("app", [("blue", 100)]), ("files", [("files", 100)])],
            pools: [.init(name: "blue", backends: [(a.port, 1)]), .init(name: "files", backends: [(trickle.port, 1)])])
            .withAdmin(port: try Ports.free())
            .setting(timeout: "shutdown", "5s")
            .with(workers: 2)
        let u = try await UpgradeBed.start(config, in: bed)
        defer { u.tearDown() }

        func inodes() async throws -> [String: [UInt64]] {
            ["web": try await u.listeningInodes(webPort), "downloads": try await u.listeningInodes(downloadPort),
             "admin": try await u.listeningInodes(u.adminPort)]
        }
        let before = try await inodes()
        #expect(before["web"]?.count == 2 && before["downloads"]?.count == 2 && before["admin"]?.count == 1, "\(before)")

        let load = try LoadGenerator.start(port: webPort, keepAlive: 2, fresh: 2, limit: .seconds(80), in: bed.directory)
        defer { load.kill() }
        try await waitUntil("the load runs") { try await a.counts().heads >= 50 }

        var pid = u.first.pid
        var upgradeMs: [Int64] = []
        var oldExitMs: [Int64] = []
        var problems: [String] = []
        let started = monotonicNanoseconds()
        for i in 1...Self.upgrades {
            let old = pid
            let socket = try await u.webSocket()
            let download = try TrickleDownload.start(port: downloadPort, bytes: Self.downloadBytes, ms: Self.downloadMs, in: bed.directory)
            try await waitUntil("download \(i) has begun") { download.received > 0 }

            let upgrade = try await u.upgrade()
            let spanned = download.child.isRunning
            #expect(upgrade.status == 0, "upgrade \(i): \(upgrade)")
            pid = try await u.servingPid()
            #expect(pid != old, "upgrade \(i): /status still shows pid \(old)")
            #expect(upgrade.stdout.contains("upgraded: pid \(pid) serves"), "upgrade \(i): \(upgrade.stdout)")
            upgradeMs.append(milliseconds(upgrade.asked, upgrade.returned))

            // The tunnel opened on the old process still works, then the client ends it.
            do { try await UpgradeBed.echo("after upgrade \(i)", on: socket) } catch {
                problems.append("upgrade \(i): the WebSocket opened before it: \(error)")
            }
            socket.shutdownWrite()
            let ended = try await socket.closesWithoutMoreData()
            #expect(ended && !socket.sawReset, "upgrade \(i): the WebSocket did not end cleanly")

            if let failure = try await download.finish() { problems.append("upgrade \(i): download: \(failure)") }
            if !spanned { problems.append("upgrade \(i): the download was over before the upgrade returned") }
            // The old process is done once its download and tunnel are (the next upgrade is
            // refused until then); meanwhile the new one takes the load.
            let heads = try await a.counts().heads
            let gone = try await u.waitUntilGone(old, timeout: .seconds(6))
            oldExitMs.append(milliseconds(upgrade.returned, gone))
            try await waitUntil("pid \(pid) serves the load") { try await a.counts().heads >= heads + 20 }
            let now = try await inodes()
            if now != before { problems.append("upgrade \(i): listening sockets \(now), before \(before)") }
        }
        let elapsed = milliseconds(started, monotonicNanoseconds())
        let report = try await load.stop()
        #expect(try await u.firstExitStatus(timeout: .seconds(1)) == 0)

        let after = try await inodes()
        print("""
            upgrade under load: \(Self.upgrades) upgrades in \(elapsed) ms; cutover upgrade took \(upgradeMs) ms \
            (median \(upgradeMs.sorted()[upgradeMs.count / 2])); old process gone \(oldExitMs) ms after it returned; \
            \(report.records.count) requests (\(report.count(.keepAlive)) keep-alive, \(report.count(.fresh)) new-connection), \
            \(report.failures.count) failed, outcomes \(report.outcomes); \(Self.upgrades) downloads of \(Self.downloadBytes) bytes \
            over \(Self.downloadMs) ms and \(Self.upgrades) WebSockets across an upgrade; listening inodes \(before) -> \(after)
            """)
        #expect(problems.isEmpty, "\(problems)")
        #expect(report.failures.isEmpty, "\(report.failureSummary)")
        #expect(report.records.count >= 20 * Self.upgrades)
        #expect(after == before, "listening sockets before \(before), after \(after)")
    }
}

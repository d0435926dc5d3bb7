import Foundation
import Testing

/// Binary upgrade, items 3 and 4 of the tests: what runs on the old process when it hands over.
/// A 3-second request finishes 200 (with `Connection: close`) while the new process already
/// serves; a WebSocket keeps working after the hand-over and is closed when the old process's
/// `timeouts.shutdown` ends, not before; the old process exits 0 right after.
@Suite struct UpgradeDrainTests {
    @Test func aThreeSecondRequestStartedBeforeTheUpgradeFinishes200() async throws {
        let bed = try TestBed()
        let a = try await bed.backend("a")
        let u = try await UpgradeBed.start(for: [a], shutdown: "10s", in: bed)
        defer { u.tearDown() }

        // A keep-alive connection served once and idle at the hand-over.
        let idle = try RawClient(port: u.port)
        try idle.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n")
        #expect(try await idle.readResponse().status == 200)

        let slow = try RawClient(port: u.port)
        let sent = monotonicNanoseconds()
        try slow.send("GET /slow?ms=3000 HTTP/1.1\r\nHost: app\r\n\r\n")
        try await waitUntil("a has the slow request") { try await a.counts().heads == 2 }

        let upgrade = try await u.upgrade()
        #expect(upgrade.status == 0, "\(upgrade)")
        let pid = try await u.servingPid()
        #expect(pid != u.first.pid)
        #expect(milliseconds(sent, upgrade.returned) < 2500, "the upgrade returned too late to mean anything")
        // The new process answers while the old one still has the slow request.
        let fresh = try await u.get()
        #expect(fresh.status == 200 && fresh.header("X-Backend") == "a")
        #expect(UpgradeBed.isRunning(u.first.pid), "the old process exited before its slow request was answered")
        // The idle keep-alive connection is closed (a FIN, not an RST) once its 1 s grace for a
        // request already on its way is over.
        #expect(try await idle.closesWithoutMoreData())
        let idleClosed = monotonicNanoseconds()
        #expect(!idle.sawReset)
        #expect(milliseconds(upgrade.returned, idleClosed) < 2000, "the idle connection closed \(milliseconds(upgrade.returned, idleClosed)) ms after the upgrade")
        idle.shutdownWrite()

        let answer = try await slow.readResponse()
        let done = monotonicNanoseconds()
        #expect(answer.status == 200)
        #expect(answer.bodyText == "slow")
        #expect(answer.header("X-Backend") == "a")
        #expect(answer.announcesClose, "\(answer.headers)")
        #expect(milliseconds(sent, done) >= 2990, "answered after \(milliseconds(sent, done)) ms")
        let ended = try await slow.closesWithoutMoreData()
        #expect(ended && !slow.sawReset)
        // Our FIN too: the old process lingers (up to 2 s) until the client has closed.
        slow.shutdownWrite()
        #expect(try await u.firstExitStatus(timeout: .seconds(2)) == 0)
        let exited = monotonicNanoseconds()
        print("upgrade drain: the 3 s request answered \(milliseconds(sent, done)) ms after it was sent, "
              + "upgrade took \(milliseconds(upgrade.asked, upgrade.returned)) ms, idle keep-alive connection closed \(milliseconds(upgrade.returned, idleClosed)) ms after it returned, old process gone \(milliseconds(done, exited)) ms after the answer")
        #expect(milliseconds(done, exited) < 1000, "\(u.first.stderrText)")
        #expect(try await u.get().status == 200)
    }

    @Test func aWebSocketOnTheOldProcessLastsUntilItsShutdownTimeout() async throws {
        let bed = try TestBed()
        let a = try await bed.backend("a")
        let shutdown: UInt64 = 3_000_000_000
        let u = try await UpgradeBed.start(for: [a], shutdown: "3s", in: bed)
        defer { u.tearDown() }

        let old = try await u.webSocket()
        let upgrade = try await u.upgrade()
        #expect(upgrade.status == 0, "\(upgrade)")
        let pid = try await u.servingPid()
        #expect(pid != u.first.pid)
        try await UpgradeBed.echo("after the upgrade", on: old)
        let new = try await u.webSocket()

        // Two seconds after the hand-over the old tunnel still carries bytes.
        try await waitUntil("two seconds have passed since the upgrade was asked", timeout: .seconds(3)) {
            monotonicNanoseconds() - upgrade.asked >= 2_000_000_000
        }
        try await UpgradeBed.echo("two seconds later", on: old)
        #expect(UpgradeBed.isRunning(u.first.pid))

        // Closed (cut with an RST, as the deregistration delay cuts a tunnel) when the old
        // process's shutdown timeout ends.
        #expect(try await old.closesWithoutMoreData())
        let closed = monotonicNanoseconds()
        // The shutdown timeout starts at the hand-over, between `asked` and `returned`.
        #expect(closed - upgrade.asked >= shutdown - 20_000_000,
                "the WebSocket was closed \(milliseconds(upgrade.asked, closed)) ms after the upgrade was asked")
        #expect(closed - upgrade.returned <= shutdown + 700_000_000,
                "the WebSocket was closed \(milliseconds(upgrade.returned, closed)) ms after the upgrade returned")
        #expect(try await u.firstExitStatus(timeout: .seconds(2)) == 0)
        let exited = monotonicNanoseconds()
        print("upgrade drain: the WebSocket on the old process closed \(milliseconds(upgrade.asked, closed)) ms after the upgrade was asked "
              + "(\(milliseconds(upgrade.returned, closed)) ms after it returned; timeouts.shutdown 3 s; \(old.sawReset ? "RST" : "FIN")), old process gone \(milliseconds(closed, exited)) ms later")

        // The one opened on the new process is untouched.
        try await UpgradeBed.echo("still open", on: new)
        #expect(try await u.get().status == 200)
    }
}

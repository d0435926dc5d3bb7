import Foundation
import Glibc
import Testing

/// Binary upgrade, item 6 of the tests: the sd_notify protocol as systemd would see it on its
/// notification socket (a unix datagram socket; the kernel names each sender). `READY=1` with
/// `MAINPID` at start; `RELOADING=1` with `MONOTONIC_USEC` (the reload's start on
/// CLOCK_MONOTONIC) then `READY=1` around a SIGHUP reload and a `POST /reload`; nothing for an
/// upgrade that fails; at a SIGUSR2 upgrade the old process sends `MAINPID=<new pid>` and
/// `READY=1`, and never `STOPPING=1` afterwards; the new process sends `STOPPING=1` at its final
/// SIGTERM.
@Suite struct UpgradeNotifyTests {
    static func start(_ bed: TestBed, abstract: Bool) async throws -> (NotifyListener, UpgradeBed, Backend) {
        let a = try await bed.backend("a")
        let listener = try await NotifyListener.start(abstract: abstract, in: bed)
        let config = ProxyConfig.http(port: try Ports.free(), backends: [a])
            .withAdmin(port: try Ports.free())
            .setting(timeout: "shutdown", "3s")
        let u = try await UpgradeBed.start(config, environment: ["NOTIFY_SOCKET": listener.address], in: bed)
        return (listener, u, a)
    }

    @Test func readyReloadingMainPidAndStoppingAreSentInOrder() async throws {
        let bed = try TestBed()
        let (listener, u, _) = try await Self.start(bed, abstract: false)
        defer { u.tearDown() }
        let old = u.first.pid

        // Start-up.
        var messages = try await listener.waitFor(count: 1, "READY=1 at start-up")
        #expect(messages[0].pid == old, "\(messages)")
        #expect(messages[0].fields["READY"] == "1" && messages[0].fields["MAINPID"] == "\(old)", "\(messages)")

        // SIGHUP, then POST /reload: RELOADING=1 with the reload's start, then READY=1.
        let hup = monotonicNanoseconds() / 1000
        u.first.send(signal: SIGHUP)
        messages = try await listener.waitFor(count: 3, "RELOADING=1 and READY=1 after SIGHUP")
        let posted = monotonicNanoseconds() / 1000
        let reload = try await u.admin("POST", "/reload")
        #expect(reload.status == 200, "\(reload.bodyText)")
        messages = try await listener.waitFor(count: 5, "RELOADING=1 and READY=1 after POST /reload")
        for (index, since) in [(1, hup), (3, posted)] {
            let reloading = messages[index].fields
            let usec = UInt64(reloading["MONOTONIC_USEC"] ?? "") ?? 0
            #expect(reloading["RELOADING"] == "1" && usec >= since && usec <= messages[index].receivedMicroseconds,
                    "message \(index): \(messages[index]), reload asked at \(since) us")
            #expect(messages[index + 1].fields == ["READY": "1"], "\(messages)")
        }
        #expect(messages.allSatisfy { $0.pid == old }, "\(messages)")

        // A failed upgrade tells systemd nothing.
        let failed = try await u.upgrade(["--binary", "/bin/false"])
        #expect(failed.status == 1)
        let afterFailure = try listener.messages()
        #expect(afterFailure.count == 5, "\(afterFailure)")

        // SIGUSR2: the old process names the new one as the main process.
        u.first.send(signal: SIGUSR2)
        var new: Int32 = old
        try await waitUntil("/status shows a new pid after SIGUSR2", timeout: .seconds(15)) {
            new = (try? await u.servingPid()) ?? old
            return new != old
        }
        messages = try await listener.waitFor(count: 6, "MAINPID=<new pid> after SIGUSR2")
        #expect(messages[5].pid == old, "\(messages[5])")
        #expect(messages[5].fields == ["MAINPID": "\(new)", "READY": "1"], "\(messages[5])")
        try await u.waitUntilGone(old)
        #expect(try await u.firstExitStatus(timeout: .seconds(1)) == 0)

        // The final SIGTERM, to the new process.
        let count = try listener.messages().count
        kill(new, SIGTERM)
        messages = try await listener.waitFor(count: count + 1, "STOPPING=1 at SIGTERM")
        try await u.waitUntilGone(new)
        messages = try listener.messages()
        let stopping = messages.filter { $0.fields["STOPPING"] == "1" }
        #expect(stopping.count == 1 && stopping.first?.pid == new, "STOPPING=1 sent by \(stopping.map(\.pid)), new pid \(new), old \(old)")
        #expect(messages.last?.fields == ["STOPPING": "1"], "\(messages)")
        print("upgrade notify: \(messages.map { "\($0.pid == old ? "old" : $0.pid == new ? "new" : "\($0.pid)") \($0.text.replacingOccurrences(of: "\n", with: "\\n"))" })")
    }

    @Test func anAbstractNotifySocketWorksToo() async throws {
        let bed = try TestBed()
        let (listener, u, _) = try await Self.start(bed, abstract: true)
        defer { u.tearDown() }
        var messages = try await listener.waitFor(count: 1, "READY=1 on \(listener.address)")
        #expect(messages[0].fields == ["READY": "1", "MAINPID": "\(u.first.pid)"], "\(messages)")
        u.first.send(signal: SIGTERM)
        messages = try await listener.waitFor(count: 2, "STOPPING=1 on \(listener.address)")
        #expect(messages[1].fields == ["STOPPING": "1"] && messages[1].pid == u.first.pid, "\(messages)")
        #expect(try await u.firstExitStatus(timeout: .seconds(5)) == 0)
    }
}

import Foundation
import Glibc
import Testing

/// Hardening, item 1: no request breaks when connections end on purpose. Clients that never retry
/// (`hardening_client.py`) count every request that fails on an established connection; only
/// connections refused at connect, after the listeners closed, are allowed.
@Suite(.serialized) struct HardeningShutdownTests {
    /// 20 SIGTERMs (no shutdown_delay), each after about half a second of keep-alive load from six
    /// clients: an idle keep-alive connection waits for the request its client may be sending, so
    /// none is closed under a request; every cycle exits 0.
    @Test func twentySigtermsUnderNeverRetryingKeepAliveLoadBreakNoRequest() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        var answered = 0, refused = 0, broken = 0, closes = 0
        var stopTimes: [Int64] = []
        for cycle in 1...20 {
            let proxy = try await bed.proxy(for: [a]) { $0.with(workers: 2) }
            let clients = try NeverRetryingClients.start(port: proxy.port, keepAlive: 6, in: bed.directory)
            defer { clients.kill() }
            // About half a second of load; a different amount each cycle moves the SIGTERM around.
            let started = try clients.progress().answered
            let want = 150 + 37 * (cycle % 7)
            try await waitUntil("cycle \(cycle): \(want) requests answered", timeout: .seconds(20)) {
                try clients.progress().answered - started >= want
            }

            let term = monotonicNanoseconds()
            proxy.child.send(signal: SIGTERM)
            let status = try await proxy.child.waitForExit(timeout: .seconds(8))
            let exited = monotonicNanoseconds()
            let report = try await clients.stop()

            #expect(status == 0, "cycle \(cycle): exit status \(status)")
            #expect(report.broken.isEmpty, "cycle \(cycle): \(report.broken.count) broken; \(report.failureSummary(from: term))")
            #expect(report.otherConnectFailures.isEmpty, "cycle \(cycle): \(report.failureSummary(from: term))")
            #expect(report.statuses.keys.allSatisfy { $0 == 200 }, "cycle \(cycle): statuses \(report.statuses)")
            // Refusals only once SIGTERM had closed the listeners.
            #expect(report.refused.allSatisfy { $0.done >= term }, "cycle \(cycle): refused before SIGTERM")
            answered += report.answered.count
            refused += report.refused.count
            broken += report.broken.count
            closes += report.answered.filter(\.closes).count
            stopTimes.append(milliseconds(term, exited))
        }
        print("HardeningShutdown: 20 SIGTERM cycles, 6 never-retrying keep-alive clients: \(answered) answered (\(closes) with Connection: close), \(broken) broken, \(refused) refused after the listeners closed; SIGTERM to exit \(stopTimes.min() ?? 0)-\(stopTimes.max() ?? 0) ms")
        #expect(broken == 0)
    }

    /// With `shutdown_delay: 1s`: from SIGTERM on, every answer carries `Connection: close` (an
    /// answer on a connection opened before it too), new connections are accepted and served
    /// during the delay, and the never-retrying clients see nothing broken.
    @Test func duringShutdownDelayAnswersCarryCloseAndNewConnectionsAreServed() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let delay: UInt64 = 1_000_000_000
        let s = try await LifecycleBed.start([(a.port, 1)], timeouts: [("shutdown_delay", "1s"), ("shutdown", "5s")],
                                             workers: 2, in: bed)
        let kept = try RawClient(port: s.port)
        try kept.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n")
        let first = try await kept.readResponse()
        #expect(first.status == 200)
        #expect(!first.announcesClose, "\(first.headers)")

        let clients = try NeverRetryingClients.start(port: s.port, keepAlive: 6, in: bed.directory)
        defer { clients.kill() }
        try await waitUntil("the load runs") { try clients.progress().answered >= 200 }

        let term = monotonicNanoseconds()
        s.proxy.child.send(signal: SIGTERM)
        try await waitUntil("/ready answers 503", every: .milliseconds(2)) { try await s.admin("GET", "/ready").status == 503 }
        let notReady = monotonicNanoseconds()
        // A new connection during the delay is accepted and served, with Connection: close.
        let fresh = try await s.get()
        let freshDone = monotonicNanoseconds()
        #expect(fresh.status == 200)
        #expect(fresh.announcesClose, "a new connection's answer during the delay: \(fresh.headers)")
        #expect(freshDone - term < delay * 9 / 10, "the request meant for the delay ended \(milliseconds(term, freshDone)) ms after SIGTERM")
        // The keep-alive connection opened before SIGTERM: its next answer says close, then it ends.
        try kept.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n")
        let second = try await kept.readResponse()
        let keptDone = monotonicNanoseconds()
        #expect(second.status == 200)
        #expect(second.announcesClose, "a kept connection's answer during the delay: \(second.headers)")
        #expect(keptDone - term < delay * 9 / 10, "the kept connection's request ended \(milliseconds(term, keptDone)) ms after SIGTERM")
        #expect(try await kept.closesWithoutMoreData())
        #expect(!kept.sawReset)

        try await waitUntil("the listeners close", timeout: .seconds(5), every: .milliseconds(5)) { !Ports.isAccepting(s.port) }
        let closed = monotonicNanoseconds()
        #expect(try await s.proxy.child.waitForExit(timeout: .seconds(8)) == 0)
        let report = try await clients.stop()

        #expect(closed - term >= delay, "the listeners closed \(milliseconds(term, closed)) ms after SIGTERM (shutdown_delay 1s)")
        #expect(report.broken.isEmpty, "\(report.broken.count) broken; \(report.failureSummary(from: term))")
        #expect(report.otherConnectFailures.isEmpty, "\(report.failureSummary(from: term))")
        #expect(report.statuses.keys.allSatisfy { $0 == 200 }, "statuses \(report.statuses)")
        // Every answer to a request sent once /ready said 503 (the workers are told at the same
        // moment; 50 ms for the message to arrive) carried Connection: close.
        let keptOpen = report.answered.filter { $0.sent > notReady + 50_000_000 && !$0.closes }
        #expect(keptOpen.isEmpty, "\(keptOpen.count) answers without Connection: close after SIGTERM; first sent \(keptOpen.first.map { milliseconds(term, $0.sent) } ?? 0) ms after it")
        // The clients moved to new connections while the listeners still accepted.
        let served = report.answered.filter { $0.opened > term && $0.sent < closed }
        #expect(served.count >= 6, "only \(served.count) requests on connections opened during the delay")
        #expect(report.refused.allSatisfy { $0.done >= term + delay },
                "refused \(report.refused.map { milliseconds(term, $0.done) }.min() ?? 0) ms after SIGTERM")
        print("HardeningShutdown: shutdown_delay 1s: \(report.answered.count) answered, \(report.answered.filter { $0.sent > term }.count) after SIGTERM (all with Connection: close), \(served.count) on connections opened during the delay, \(report.broken.count) broken, \(report.refused.count) refused after the listeners closed")
    }

    /// A reload that removes a listener, under never-retrying load on it (keep-alive clients and
    /// clients opening a new connection per request, so its accept queue is rarely empty): what
    /// the kernel had queued on it is served, not reset. Five rounds of removing and re-adding it.
    @Test func reloadRemovingAListenerUnderLoadBreaksNoRequest() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let webPort = try Ports.free()
        let oldPort = try Ports.free()
        let adminPort = try Ports.free()
        let without = ProxyConfig.http(port: webPort, backends: [a]).withAdmin(port: adminPort).with(workers: 2)
        var with = without
        with.listeners.append(.init(name: "old", port: oldPort, route: "app"))
        let proxy = try await bed.proxy(with)

        let clients = try NeverRetryingClients.start(port: oldPort, keepAlive: 3, fresh: 3, in: bed.directory)
        defer { clients.kill() }
        var reloads: [UInt64] = []
        for round in 1...5 {
            let before = try clients.progress()
            try await waitUntil("round \(round): load on the listener") { try clients.progress().answered - before.answered >= 150 }
            try without.yaml.write(to: proxy.configURL, atomically: true, encoding: .utf8)
            reloads.append(monotonicNanoseconds())
            let removed = try await adminRequest(port: adminPort, "POST", "/reload")
            #expect(removed.status == 200, "round \(round): \(removed.status) \(removed.bodyText)")
            let refusedBefore = try clients.progress().refused
            try await waitUntil("round \(round): the removed listener refuses") { try clients.progress().refused > refusedBefore + 3 }

            try with.yaml.write(to: proxy.configURL, atomically: true, encoding: .utf8)
            let added = try await adminRequest(port: adminPort, "POST", "/reload")
            #expect(added.status == 200, "round \(round): \(added.status) \(added.bodyText)")
        }
        let answeredBefore = try clients.progress().answered
        try await waitUntil("the listener serves again") { try clients.progress().answered > answeredBefore + 20 }
        let report = try await clients.stop()
        #expect(proxy.child.isRunning)

        let first = reloads.first ?? 0
        #expect(report.broken.isEmpty, "\(report.broken.count) broken; times from the first reload: \(report.failureSummary(from: first))")
        #expect(report.otherConnectFailures.isEmpty, "\(report.failureSummary(from: first))")
        #expect(report.statuses.keys.allSatisfy { $0 == 200 }, "statuses \(report.statuses)")
        #expect(!report.refused.isEmpty)
        print("HardeningShutdown: 5 reloads removing a listener under 3 keep-alive + 3 new-connection never-retrying clients: \(report.answered.count) answered, \(report.broken.count) broken, \(report.refused.count) refused while it was gone")
    }
}

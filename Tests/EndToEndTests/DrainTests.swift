import Foundation
import Testing

/// Issue 5, item 3 of its tests: a backend removed by a reload drains. A 3-second request running
/// on it completes with 200, no new request reaches it, `/status` lists it `draining` with what
/// is in flight, and the drain ends once nothing is left; a WebSocket open on it is closed when
/// `deregistration_delay` ends, not before.
@Suite struct DrainTests {
    /// Two slow requests sent one after the other with nothing else running: the smooth round
    /// robin over equal weights gives one to each backend. Returns the client whose request `a` has.
    private func slowRequestOnEachBackend(_ s: LifecycleBed, a: Backend, b: Backend, ms: Int) async throws
        -> (onA: RawClient, onB: RawClient) {
        let request = "GET /slow?ms=\(ms) HTTP/1.1\r\nHost: app\r\n\r\n"
        let first = try RawClient(port: s.port)
        try first.send(request)
        try await waitUntil("a backend has the first slow request") {
            try await a.counts().heads + b.counts().heads == 1
        }
        let firstOnA = try await a.counts().heads == 1
        let second = try RawClient(port: s.port)
        try second.send(request)
        try await waitUntil("each backend has a slow request") {
            let heads = [try await a.counts().heads, try await b.counts().heads]
            return heads == [1, 1]
        }
        return firstOnA ? (first, second) : (second, first)
    }

    @Test func aRemovedBackendFinishesItsSlowRequestAndGetsNothingNew() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let b = try await bed.backend("b")
        let s = try await LifecycleBed.start([(a.port, 1), (b.port, 1)], poolLines: ["deregistration_delay: 10s"], in: bed)
        let (onA, onB) = try await slowRequestOnEachBackend(s, a: a, b: b, ms: 3000)
        let slowSent = monotonicNanoseconds()
        let load = try LoadGenerator.start(port: s.port, keepAlive: 2, fresh: 1, limit: .seconds(30), in: bed.directory)
        defer { load.kill() }
        try await waitUntil("the load reaches a") { try await a.counts().heads >= 20 }

        let (response, _, returned) = try await s.reload(s.config([(b.port, 1)]))
        #expect(response.status == 200, "\(response.bodyText)")
        // Requests routed to a just before the reload finish within milliseconds; then only the
        // slow one is left on it, on the one upstream connection it uses (the idle ones closed).
        var seen: [String: Any] = [:]
        try await waitUntil("/status shows a draining with one request in flight on one connection", timeout: .seconds(2)) {
            seen = try await s.backend(a.port) ?? [:]
            return seen["state"] as? String == "draining" && seen["in_flight"] as? Int == 1
                && seen["connections"] as? Int == 1
        }
        let left = seen["drain_seconds_left"] as? Double ?? -1
        #expect(left > 8 && left <= 10, "drain_seconds_left \(left)")
        #expect(seen["effective_weight"] as? Int == 0)
        #expect(monotonicNanoseconds() - slowSent < 2_500_000_000, "the slow request should still run here")

        let slow = try await onA.readResponse()
        let slowDone = monotonicNanoseconds()
        #expect(slow.status == 200)
        #expect(slow.header("X-Backend") == "a")
        #expect(slow.bodyText == "slow")
        // Nothing left on a: the drain ends long before its 10 s.
        try await waitUntil("a is no longer listed", timeout: .seconds(3)) { try await s.backend(a.port) == nil }
        #expect(milliseconds(slowDone, monotonicNanoseconds()) < 1500)
        #expect(try await onB.readResponse().header("X-Backend") == "b")

        let bSoFar = try await b.counts().heads
        try await waitUntil("b takes the load") { try await b.counts().heads >= bSoFar + 50 }
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        let after = report.records.filter { $0.sent > returned }
        #expect(after.count >= 50 && after.allSatisfy { $0.backend == "b" },
                "\(after.count) requests sent after the reload returned; on a: \(after.filter { $0.backend != "b" }.prefix(5))")
        // Every request a ever received is accounted for: the slow one and what the load got from it.
        #expect(try await a.counts().heads == 1 + report.records.filter { $0.backend == "a" }.count)
    }

    @Test func aWebSocketOnARemovedBackendIsClosedWhenTheDeregistrationDelayEnds() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let b = try await bed.backend("b")
        let delay: UInt64 = 2_000_000_000
        let s = try await LifecycleBed.start([(a.port, 1), (b.port, 1)], poolLines: ["deregistration_delay: 2s"], in: bed)
        let upgrade = "GET /socket HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
        var sockets: [String: RawClient] = [:]
        for _ in 0..<2 {
            let client = try RawClient(port: s.port)
            try client.send(upgrade)
            let switching = try await client.readResponse(toHEAD: true)
            #expect(switching.status == 101)
            sockets[switching.header("X-Backend") ?? "?"] = client
        }
        let onA = try #require(sockets["a"], "the two upgrades went to \(sockets.keys.sorted())")
        let onB = try #require(sockets["b"])

        let (response, asked, returned) = try await s.reload(s.config([(b.port, 1)]))
        #expect(response.status == 200, "\(response.bodyText)")
        try onA.send("still open")
        #expect(try await onA.read(exactly: 10) == Array("STILL OPEN".utf8))
        let draining = try await s.backend(a.port)
        #expect(draining?["state"] as? String == "draining")
        #expect(draining?["in_flight"] as? Int == 1)

        // Half-way through the delay the tunnel still carries bytes.
        try await waitUntil("half the delay has passed", timeout: .seconds(3)) {
            (try await s.backend(a.port)?["drain_seconds_left"] as? Double ?? 0) <= 1.0
        }
        let midway = monotonicNanoseconds()
        try onA.send("midway")
        #expect(try await onA.read(exactly: 6) == Array("MIDWAY".utf8))
        #expect(milliseconds(returned, midway) < 1900, "the half-way check came too late to mean anything")

        #expect(try await onA.closesWithoutMoreData())
        let closed = monotonicNanoseconds()
        // The deadline is set between `asked` and `returned`.
        #expect(closed - asked >= delay - 20_000_000, "the WebSocket on a was closed \(milliseconds(asked, closed)) ms after the reload was asked")
        #expect(closed - returned <= delay + 500_000_000, "the WebSocket on a was closed \(milliseconds(returned, closed)) ms after the reload returned")

        // The one on b, a backend still configured, is untouched; a's drain is over.
        try onB.send("on b")
        #expect(try await onB.read(exactly: 4) == Array("ON B".utf8))
        try await waitUntil("a is no longer listed", timeout: .seconds(2)) { try await s.backend(a.port) == nil }
    }
}

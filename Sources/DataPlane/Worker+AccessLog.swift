import EventLoop
import HTTP1

/// The access log on the worker's side: where its lines go, and the line of each exchange.
extension Worker {
    /// A reload turned the log on or off, or moved it. The scratch space is kept across moves.
    func setAccessLog(_ target: AccessLogTarget?) {
        guard let target else {
            accessLog = nil
            return
        }
        if let accessLog { accessLog.retarget(target) } else { accessLog = AccessLogProducer(target: target) }
    }

    /// The line of an exchange whose answer is decided (`exchangeEnded`): queued for the writer
    /// thread, or dropped and counted if this worker's ring is full. No allocation: the names are
    /// the snapshot's, the method and target the session's capture.
    func logExchange(_ session: HTTPSession, status: Int, to accessLog: AccessLogProducer) {
        // Answered while its head was still being read (malformed, too large, too slow): the
        // request line is read leniently from what arrived.
        if session.state == .readingHead { session.accessLogCapture.captureLeniently(session.clientIn.readable) }
        let table = session.routing.table
        let route = session.routeIndex >= 0 && session.routeIndex < table.routes.count ? table.routes[session.routeIndex].name : nil
        var pool: String?
        var backend: String?
        if session.poolIndex >= 0 && session.poolIndex < table.pools.count {
            pool = table.pools[session.poolIndex].name
            // The backend of the last attempt, also when it failed (a 502 names the one that did).
            if session.exchangeBackend >= 0 { backend = table.pools[session.poolIndex].backends[session.exchangeBackend].label }
        }
        // The loop's clock, read once per wake-up, dates the end: no second clock read per line.
        let end = loop.now
        let started = session.exchangeStartedAt
        let wallStart = WallClockText.nowNanoseconds() &- Int64(clamping: end > started ? end - started : 0)
        accessLog.record(AccessLogEntry(
            wallStart: wallStart, client: session.peer,
            method: session.accessLogCapture.method, target: session.accessLogCapture.target,
            status: status, bytesIn: UInt64(max(0, session.requestBytes)), bytesOut: UInt64(max(0, session.responseBytes)),
            duration: end &- started,
            upstreamDuration: session.upstreamStartedAt != 0 ? end &- session.upstreamStartedAt : nil,
            route: route, pool: pool, backend: backend, generation: table.generation))
        session.accessLogCapture.clear()
    }
}

extension HTTPSession {
    /// The exchange starts: its method and target leave the client buffer now, so the access
    /// log keeps a copy (only while the log is on).
    func captureForAccessLog() {
        guard worker.accessLog != nil else { return }
        accessLogCapture.capture(clientIn.readable, method: worker.requestHead.method, target: worker.requestHead.target)
    }
}

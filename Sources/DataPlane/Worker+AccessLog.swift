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
    /// the snapshot's, the method and target the exchange's capture.
    func logExchange(_ record: ExchangeRecord, capture: inout AccessLogCapture, to accessLog: AccessLogProducer) {
        let table = record.routing.table
        let route = record.route.flatMap { $0 < table.routes.count ? table.routes[$0].name : nil }
        var pool: String?
        var backend: String?
        if let p = record.pool, p < table.pools.count {
            pool = table.pools[p].name
            // The backend of the last attempt, also when it failed (a 502 names the one that did).
            if let b = record.backend { backend = table.pools[p].backends[b].label }
        }
        // The loop's clock, read once per wake-up, dates the end: no second clock read per line.
        let end = loop.now
        let started = record.startedAt
        let wallStart = WallClockText.nowNanoseconds() &- Int64(clamping: end > started ? end - started : 0)
        accessLog.record(AccessLogEntry(
            wallStart: wallStart, client: record.peer,
            method: capture.method, target: capture.target,
            status: record.status, bytesIn: UInt64(max(0, record.requestBytes)), bytesOut: UInt64(max(0, record.responseBytes)),
            duration: end &- started,
            upstreamDuration: record.upstreamStartedAt.map { end &- $0 },
            route: route, pool: pool, backend: backend, generation: table.generation,
            protocolVersion: record.protocolVersion))
        capture.clear()
    }
}

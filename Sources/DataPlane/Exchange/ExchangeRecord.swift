import EventLoop
import HTTP1
import Metrics

/// Who decided the answer to a request.
enum AnswerSource {
    /// The backend answered whole: its status counts for passive health.
    case backend
    /// The backend's answer began, then the exchange was cut (its status is what the client saw).
    case cutShort
    /// The proxy answered itself (malformed request, no usable backend, 502/504, client left).
    case proxy
}

/// A finished exchange as the worker counts it: metrics, passive health and the access log read
/// this record, never the exchange or its connection. Made once per request, when its answer is
/// decided; nothing in it is allocated (the snapshot is shared, the rest are values).
struct ExchangeRecord {
    /// The snapshot the exchange was routed under; `route`, `pool` and `backend` index into it.
    var routing: WorkerRouting
    var route: Int?
    var pool: Int?
    /// The backend of the latest attempt (an index into its pool), also when it failed.
    var backend: Int?
    var status: Int
    var source: AnswerSource
    var startedAt: UInt64
    /// When the latest backend attempt began, if there was one.
    var upstreamStartedAt: UInt64?
    var requestBytes: Int
    var responseBytes: Int
    var peer: SocketAddress
    /// The client's protocol, for the access log.
    var protocolVersion: StaticString

    /// The backend's stable id (its metrics and passive-health slot).
    var backendID: Int? {
        guard let pool, let backend else { return nil }
        return routing.table.pools[pool].backends[backend].id
    }
}

/// The accounting of an exchange: begun with its head, recorded once when its answer is decided.
extension Exchange {
    func beginRecord(headLength: Int) {
        recordOpen = true
        startedAt = now
        requestBytes = headLength
        responseBytes = 0
    }

    /// The answer is decided: sent whole, cut short, or the proxy's own. Once per exchange.
    func record(status: Int, answeredBy source: AnswerSource) {
        guard recordOpen else { return }
        recordOpen = false
        let record = ExchangeRecord(
            routing: routing, route: route, pool: pool, backend: attempts.backend, status: status, source: source,
            startedAt: startedAt, upstreamStartedAt: attempts.startedAt, requestBytes: requestBytes,
            responseBytes: responseBytes, peer: client.peer,
            protocolVersion: client.isHTTP2 ? "HTTP/2.0" : request.version == .http10 ? "HTTP/1.0" : "HTTP/1.1")
        worker.exchangeEnded(record, capture: &accessLogCapture)
    }

    /// A request the proxy answered before it could be routed (malformed, over a limit, too slow
    /// to arrive): counted under the listener's route, with no pool. `answerBytes`: the proxy's
    /// answer, already queued; `headStarted`: when its first byte came, if known.
    func recordUnrouted(status: Int, answerBytes: Int, headStarted: UInt64?) {
        request = RequestFacts()
        routing = worker.routing
        route = client.listener.routeIndex
        pool = nil
        attempts = BackendAttempts()
        beginRecord(headLength: client.clientIn.readableCount)
        responseBytes = answerBytes
        if let headStarted { startedAt = headStarted }
        // The request line, read leniently from what arrived.
        if worker.accessLog != nil { accessLogCapture.captureLeniently(client.clientIn.readable) }
        record(status: status, answeredBy: .proxy)
    }

    /// The backend of the current attempt failed it.
    func blameBackend(_ kind: UpstreamErrorKind) {
        guard let pool, let backend = attempts.backend else { return }
        worker.upstreamError(kind, backendID: routing.table.pools[pool].backends[backend].id, pool: pool, routing: routing)
    }
}

import EventLoop
import Metrics

/// The facts of the current exchange that metrics, passive health and the access log read when
/// its answer is decided: counted once per request, at `endExchange`.
extension HTTPSession {
    func beginExchangeAccounting(headLength: Int) {
        exchangeOpen = true
        exchangeStartedAt = now
        upstreamStartedAt = 0
        exchangeBackend = -1
        requestBytes = headLength
        responseBytes = 0
    }

    /// The answer to the current request is decided: sent whole, cut short, or the proxy's own.
    func endExchange(status: Int, answeredBy source: AnswerSource) {
        guard exchangeOpen else { return }
        exchangeOpen = false
        worker.exchangeEnded(self, status: status, answeredBy: source)
    }

    /// A request the proxy answered before routing it (malformed, over a limit, too slow to
    /// arrive): counted under the listener's route, with no pool.
    func answeredBeforeExchange(status: Int) {
        routing = worker.routing
        routeIndex = listener.routeIndex ?? -1
        poolIndex = -1
        let started = headStarted
        let answer = responseBytes  // the proxy's answer, already queued by `respond`
        beginExchangeAccounting(headLength: clientIn.readableCount)
        responseBytes = answer
        if started != 0 { exchangeStartedAt = started }
        endExchange(status: status, answeredBy: .proxy)
    }

    /// The stable id of the latest attempt's backend (its metrics and passive-health slot).
    var exchangeBackendID: Int? {
        exchangeBackend >= 0 ? routing.table.pools[poolIndex].backends[exchangeBackend].id : nil
    }

    /// The backend of the current attempt failed it.
    func upstreamError(_ kind: UpstreamErrorKind) {
        guard let id = exchangeBackendID else { return }
        worker.upstreamError(kind, backendID: id, pool: poolIndex, routing: routing)
    }
}

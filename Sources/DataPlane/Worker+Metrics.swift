import EventLoop
import Metrics

/// What the worker counts per exchange, and passive health: both read the outcome of an exchange
/// at the one point where it is decided, on the worker's thread, without locks.
extension Worker {
    /// Makes room in the series and gauges for every id `table` uses.
    func reserveMetrics(for table: RoutingTable) {
        let width = table.metricsWidth
        metrics.reserve(routes: width.routes, pools: width.pools, backends: width.backends,
                        listeners: listeners.map(\.spec.metricsID).max().map { $0 + 1 } ?? 0)
        if failureStreaks.count < width.backends {
            failureStreaks += [Int32](repeating: 0, count: width.backends - failureStreaks.count)
        }
    }

    func reserveMetrics(forListener spec: ListenerSpec) {
        metrics.reserve(routes: 0, pools: 0, backends: 0, listeners: spec.metricsID + 1)
        metrics.reserve(rules: (spec.rules.map(\.metricsID).max() ?? -1) + 1)
    }

    /// The answer to a request is decided (sent whole, cut short, or the proxy's own). Called
    /// once per request, never for a request that was not read whole. Only the backend's own
    /// answers carry its label; the proxy's (a 502 after it failed) count under the pool, and the
    /// failure itself under `cutover_upstream_errors_total`.
    func exchangeEnded(_ record: ExchangeRecord, capture: inout AccessLogCapture) {
        if let accessLog { logExchange(record, capture: &capture, to: accessLog) }
        let routing = record.routing
        guard let routeIndex = record.route, routeIndex < routing.table.routes.count else { return }
        let route = routing.table.routes[routeIndex].metricsID
        let poolSlot = record.pool.map { routing.table.pools[$0].metricsID + 1 } ?? 0
        let backendID = record.source != .proxy ? record.backendID : nil
        metrics.recordResponse(route: route, poolSlot: poolSlot, backendID: backendID, status: record.status,
                               nanoseconds: loop.now &- record.startedAt)
        if record.source == .backend, let backendID, let pool = record.pool {
            backendOutcome(backendID, pool: pool, routing: routing, failed: record.status >= 500)
        }
    }

    /// A backend failed an exchange (`kind` says how): counted, and a failure for passive health.
    func upstreamError(_ kind: UpstreamErrorKind, backendID: Int, pool: Int, routing: WorkerRouting) {
        metrics.recordUpstreamError(backendID: backendID, kind: kind)
        backendOutcome(backendID, pool: pool, routing: routing, failed: true)
    }

    /// Passive health: failures in a row per backend, as this worker sees them. At the pool's
    /// `consecutive_failures` the control plane is told (it decides whether to eject: never the
    /// last usable backend) and the streak starts over, so it is told again only after as many
    /// more. A success ends the streak.
    private func backendOutcome(_ backendID: Int, pool: Int, routing: WorkerRouting, failed: Bool) {
        guard failed else {
            failureStreaks[backendID] = 0
            return
        }
        guard let threshold = routing.table.pools[pool].ejectAfterFailures else { return }
        failureStreaks[backendID] &+= 1
        if failureStreaks[backendID] >= threshold {
            failureStreaks[backendID] = 0
            backendFailing?(backendID)
        }
    }
}

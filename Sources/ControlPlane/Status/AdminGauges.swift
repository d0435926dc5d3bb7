import DataPlane
import Metrics

/// The workers' gauges and per-backend totals summed per backend id, for one `/status` answer.
struct AdminGauges: Sendable {
    var inFlightByID: [Int] = []
    var connectionsByID: [Int] = []
    /// The backend's own answers, over every route.
    var requestsByID: [Int] = []
    /// Its 5xx answers plus its failed exchanges (connect, timeout, reset, protocol).
    var errorsByID: [Int] = []
    /// Requests each listener rule matched, by rule id.
    var ruleHitsByID: [Int] = []

    init() {}

    init(_ reports: [WorkerReport]) {
        let width = reports.map(\.inFlight.count).max() ?? 0
        inFlightByID = [Int](repeating: 0, count: width)
        connectionsByID = [Int](repeating: 0, count: width)
        for report in reports {
            for (id, n) in report.inFlight.enumerated() { inFlightByID[id] += Int(n) }
            for (id, n) in report.connections.enumerated() where id < width { connectionsByID[id] += Int(n) }
        }
        let totals = WorkerMetrics.sum(reports.map(\.metrics))
        let kinds = UpstreamErrorKind.allCases.count
        let ids = max(width, totals.upstreamErrors.count / kinds)
        requestsByID = [Int](repeating: 0, count: ids)
        errorsByID = [Int](repeating: 0, count: ids)
        for row in totals.backendResponses {
            for (i, n) in row.enumerated() where i / StatusClass.count < ids {
                requestsByID[i / StatusClass.count] += Int(n)
                if i % StatusClass.count == StatusClass.index(of: 500) { errorsByID[i / StatusClass.count] += Int(n) }
            }
        }
        for (i, n) in totals.upstreamErrors.enumerated() { errorsByID[i / kinds] += Int(n) }
        ruleHitsByID = totals.ruleHits.map { Int($0) }
    }

    func inFlight(_ id: Int?) -> Int { AdminGauges.value(inFlightByID, id) }
    func connections(_ id: Int?) -> Int { AdminGauges.value(connectionsByID, id) }
    func requests(_ id: Int?) -> Int { AdminGauges.value(requestsByID, id) }
    func errors(_ id: Int?) -> Int { AdminGauges.value(errorsByID, id) }
    func ruleHits(_ id: Int?) -> Int { AdminGauges.value(ruleHitsByID, id) }

    /// 0 for a backend no worker has counted yet (or no id at all).
    private static func value(_ byID: [Int], _ id: Int?) -> Int {
        guard let id, id < byID.count else { return 0 }
        return byID[id]
    }
}

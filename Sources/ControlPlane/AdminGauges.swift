import DataPlane

/// The workers' gauges summed per backend id, for one `/status` answer.
struct AdminGauges: Sendable {
    var inFlightByID: [Int] = []
    var connectionsByID: [Int] = []

    init() {}

    init(_ reports: [WorkerReport]) {
        let width = reports.map(\.inFlight.count).max() ?? 0
        inFlightByID = [Int](repeating: 0, count: width)
        connectionsByID = [Int](repeating: 0, count: width)
        for report in reports {
            for (id, n) in report.inFlight.enumerated() { inFlightByID[id] += Int(n) }
            for (id, n) in report.connections.enumerated() where id < width { connectionsByID[id] += Int(n) }
        }
    }

    func inFlight(_ id: Int?) -> Int { id.flatMap { $0 < inFlightByID.count ? inFlightByID[$0] : nil } ?? 0 }
    func connections(_ id: Int?) -> Int { id.flatMap { $0 < connectionsByID.count ? connectionsByID[$0] : nil } ?? 0 }
}

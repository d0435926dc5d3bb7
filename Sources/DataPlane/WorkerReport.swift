import Metrics

/// What a worker tells the control plane when asked (`/status`, `/metrics`): its gauges per
/// backend id and a copy of its series. Produced on the worker's thread, read anywhere.
public struct WorkerReport: Sendable {
    public var inFlight: [Int32]
    public var connections: [Int32]
    public var activeConnections: Int
    public var metrics: WorkerMetrics
}

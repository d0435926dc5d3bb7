import Metrics

/// What a worker tells the control plane when asked (for `/status`): its gauges per backend id
/// and its own totals. Produced on the worker's thread, read anywhere.
public struct WorkerReport: Sendable {
    public var inFlight: [Int32]
    public var connections: [Int32]
    public var activeConnections: Int
    public var counters: WorkerCounters
}

/// Counters one worker keeps for itself, without atomics or locks: only its own thread writes
/// them; a scrape reads a posted copy. The full metric set (per route, pool, backend) builds on this.
public struct WorkerCounters: Sendable, Equatable {
    public var connectionsAccepted: UInt64 = 0
    public var requests: UInt64 = 0
    /// Answers the proxy made itself, by status class index (4 → 4xx, 5 → 5xx).
    public var proxyErrors4xx: UInt64 = 0
    public var proxyErrors5xx: UInt64 = 0
    public var upstreamConnectFailures: UInt64 = 0

    public init() {}

    public static func + (a: WorkerCounters, b: WorkerCounters) -> WorkerCounters {
        var sum = a
        sum.connectionsAccepted &+= b.connectionsAccepted
        sum.requests &+= b.requests
        sum.proxyErrors4xx &+= b.proxyErrors4xx
        sum.proxyErrors5xx &+= b.proxyErrors5xx
        sum.upstreamConnectFailures &+= b.upstreamConnectFailures
        return sum
    }
}

/// The request-path series of one worker, in flat arrays indexed by stable ids that the control
/// plane assigns (route, pool, backend, listener ids never change meaning across reloads). Only
/// the worker's thread writes; a scrape gets a copy (copy-on-write: the worker pays one array copy
/// per scrape, never a lock per request) and the control plane sums the workers' copies.
///
/// Pools are addressed by slot: `poolID + 1`, with slot 0 for requests answered before a pool
/// was chosen (a malformed request, a route without a usable pool).
public struct WorkerMetrics: Sendable, Equatable {
    /// `[routeID][backendID * StatusClass.count + class]`: the backends' own answers.
    public private(set) var backendResponses: [[UInt64]] = []
    /// `[routeID][poolSlot * StatusClass.count + class]`: answers the proxy made itself (400,
    /// 503 no usable backend, 502/504 after a backend failed, 499 client left).
    public private(set) var poolResponses: [[UInt64]] = []
    /// `[routeID][poolSlot]`: duration from the request head to the end of the answer.
    public private(set) var latency: [[LatencyHistogram]] = []
    /// `[routeID][poolSlot]`: the same durations in fine buckets, for the canary judge.
    public private(set) var fineLatency: [[LogLinearHistogram]] = []
    /// `[backendID * UpstreamErrorKind.allCases.count + kind]`.
    public private(set) var upstreamErrors: [UInt64] = []
    /// `[listenerID]`.
    public private(set) var connectionsAccepted: [UInt64] = []
    /// `[listenerID]`: this worker's open client connections (summed over workers at scrape).
    public private(set) var connectionsOpen: [Int64] = []
    /// Episodes of accepting paused: `[0]` at max_connections, `[1]` out of file descriptors.
    public private(set) var acceptPauses: [UInt64] = [0, 0]
    /// `[ruleID]`: requests a listener's rule matched.
    public private(set) var ruleHits: [UInt64] = []

    public init() {}

    /// Makes room for ids below the given counts. Called when a snapshot is installed, never
    /// per request.
    public mutating func reserve(routes: Int, pools: Int, backends: Int, listeners: Int) {
        let poolSlots = pools + 1
        while backendResponses.count < routes {
            backendResponses.append([])
            poolResponses.append([])
            latency.append([])
            fineLatency.append([])
        }
        for r in backendResponses.indices {
            WorkerMetrics.grow(&backendResponses[r], to: backends * StatusClass.count)
            WorkerMetrics.grow(&poolResponses[r], to: poolSlots * StatusClass.count)
            while latency[r].count < poolSlots { latency[r].append(LatencyHistogram()) }
            while fineLatency[r].count < poolSlots { fineLatency[r].append(LogLinearHistogram()) }
        }
        WorkerMetrics.grow(&upstreamErrors, to: backends * UpstreamErrorKind.allCases.count)
        WorkerMetrics.grow(&connectionsAccepted, to: listeners)
        if connectionsOpen.count < listeners {
            connectionsOpen += [Int64](repeating: 0, count: listeners - connectionsOpen.count)
        }
    }

    /// Makes room for rule ids below `rules` (rules are ided apart from routes: a listener's).
    public mutating func reserve(rules: Int) {
        WorkerMetrics.grow(&ruleHits, to: rules)
    }

    @inline(__always)
    public mutating func recordRuleHit(_ rule: Int) {
        ruleHits[rule] &+= 1
    }

    private static func grow(_ array: inout [UInt64], to count: Int) {
        if array.count < count { array += [UInt64](repeating: 0, count: count - array.count) }
    }

    /// One answered request. `backendID` is nil when no backend was involved.
    @inline(__always)
    public mutating func recordResponse(route: Int, poolSlot: Int, backendID: Int?, status: Int, nanoseconds: UInt64) {
        let statusClass = StatusClass.index(of: status)
        if let backendID {
            backendResponses[route][backendID &* StatusClass.count &+ statusClass] &+= 1
        } else {
            poolResponses[route][poolSlot &* StatusClass.count &+ statusClass] &+= 1
        }
        latency[route][poolSlot].record(nanoseconds: nanoseconds)
        fineLatency[route][poolSlot].record(nanoseconds: nanoseconds)
    }

    @inline(__always)
    public mutating func recordUpstreamError(backendID: Int, kind: UpstreamErrorKind) {
        upstreamErrors[backendID &* UpstreamErrorKind.allCases.count &+ kind.rawValue] &+= 1
    }

    @inline(__always)
    public mutating func connectionOpened(listener: Int) {
        connectionsAccepted[listener] &+= 1
        connectionsOpen[listener] &+= 1
    }

    public mutating func recordAcceptPause(_ reason: Int) {
        acceptPauses[reason] &+= 1
    }

    @inline(__always)
    public mutating func connectionClosed(listener: Int) {
        connectionsOpen[listener] &-= 1
    }

    /// The sum of several workers' copies (they may have reserved different sizes).
    public static func sum(_ all: [WorkerMetrics]) -> WorkerMetrics {
        var total = WorkerMetrics()
        for m in all {
            total.reserve(routes: m.backendResponses.count,
                          pools: max(0, (m.latency.map(\.count).max() ?? 1) - 1),
                          backends: m.upstreamErrors.count / UpstreamErrorKind.allCases.count,
                          listeners: m.connectionsAccepted.count)
            for r in m.backendResponses.indices {
                add(m.backendResponses[r], into: &total.backendResponses[r])
                add(m.poolResponses[r], into: &total.poolResponses[r])
                for p in m.latency[r].indices { total.latency[r][p] = total.latency[r][p] + m.latency[r][p] }
                for p in m.fineLatency[r].indices { total.fineLatency[r][p] = total.fineLatency[r][p] + m.fineLatency[r][p] }
            }
            add(m.upstreamErrors, into: &total.upstreamErrors)
            add(m.connectionsAccepted, into: &total.connectionsAccepted)
            for (i, n) in m.connectionsOpen.enumerated() { total.connectionsOpen[i] &+= n }
            for (i, n) in m.acceptPauses.enumerated() { total.acceptPauses[i] &+= n }
            total.reserve(rules: m.ruleHits.count)
            add(m.ruleHits, into: &total.ruleHits)
        }
        return total
    }

    private static func add(_ values: [UInt64], into total: inout [UInt64]) {
        for (i, n) in values.enumerated() { total[i] &+= n }
    }
}

import Testing
import Metrics

/// A worker's flat arrays: where each record lands, that growing them (a reload adding routes,
/// pools, backends, listeners) keeps what was counted, and summing workers of different sizes.
@Suite struct WorkerMetricsTests {
    private let classes = StatusClass.count
    private let kinds = UpstreamErrorKind.allCases.count

    private func reserved(routes: Int, pools: Int, backends: Int, listeners: Int) -> WorkerMetrics {
        var m = WorkerMetrics()
        m.reserve(routes: routes, pools: pools, backends: backends, listeners: listeners)
        return m
    }

    @Test func reserveSizesEveryArray() {
        let m = reserved(routes: 2, pools: 3, backends: 4, listeners: 5)
        #expect(m.backendResponses.count == 2 && m.backendResponses.allSatisfy { $0.count == 4 * classes })
        // One pool slot more than pools: slot 0 is "no pool chosen".
        #expect(m.poolResponses.count == 2 && m.poolResponses.allSatisfy { $0.count == 4 * classes })
        #expect(m.latency.count == 2 && m.latency.allSatisfy { $0.count == 4 })
        #expect(m.upstreamErrors.count == 4 * kinds)
        #expect(m.connectionsAccepted.count == 5 && m.connectionsOpen.count == 5)
        #expect(m.backendResponses.allSatisfy { $0.allSatisfy { $0 == 0 } })
    }

    @Test func aBackendsAnswerLandsInItsBackendSlot() {
        var m = reserved(routes: 2, pools: 2, backends: 3, listeners: 1)
        m.recordResponse(route: 1, poolSlot: 2, backendID: 2, status: 503, nanoseconds: 70_000)
        m.recordResponse(route: 1, poolSlot: 2, backendID: 2, status: 200, nanoseconds: 30_000)
        m.recordResponse(route: 0, poolSlot: 1, backendID: 0, status: 204, nanoseconds: 30_000)

        var expected = [UInt64](repeating: 0, count: 3 * classes)
        expected[2 * classes + 4] = 1
        expected[2 * classes + 1] = 1
        #expect(m.backendResponses[1] == expected)
        #expect(m.backendResponses[0][0 * classes + 1] == 1)
        #expect(m.backendResponses[0].reduce(0, +) == 1)
        // The proxy's own answers stay untouched when a backend answered.
        #expect(m.poolResponses.allSatisfy { $0.allSatisfy { $0 == 0 } })
        // Latency goes by route and pool slot, whoever answered.
        #expect(m.latency[1][2].count == 2 && m.latency[1][2].sumNanos == 100_000)
        #expect(m.latency[0][1].count == 1)
        #expect(m.latency[1][0].count == 0 && m.latency[1][1].count == 0)
    }

    @Test func theProxysOwnAnswerLandsInItsPoolSlot() {
        var m = reserved(routes: 1, pools: 2, backends: 2, listeners: 1)
        // A malformed request: no pool chosen yet (slot 0).
        m.recordResponse(route: 0, poolSlot: 0, backendID: nil, status: 400, nanoseconds: 1_000)
        // No usable backend in pool 1 (slot 2).
        m.recordResponse(route: 0, poolSlot: 2, backendID: nil, status: 503, nanoseconds: 2_000)
        var expected = [UInt64](repeating: 0, count: 3 * classes)
        expected[0 * classes + 3] = 1
        expected[2 * classes + 4] = 1
        #expect(m.poolResponses[0] == expected)
        #expect(m.backendResponses[0].allSatisfy { $0 == 0 })
        #expect(m.latency[0].map(\.count) == [1, 0, 1])
    }

    @Test func upstreamErrorsLandByBackendAndKind() {
        var m = reserved(routes: 1, pools: 1, backends: 3, listeners: 1)
        m.recordUpstreamError(backendID: 2, kind: .reset)
        m.recordUpstreamError(backendID: 2, kind: .reset)
        m.recordUpstreamError(backendID: 0, kind: .protocol)
        var expected = [UInt64](repeating: 0, count: 3 * kinds)
        expected[2 * kinds + UpstreamErrorKind.reset.rawValue] = 2
        expected[0 * kinds + UpstreamErrorKind.protocol.rawValue] = 1
        #expect(m.upstreamErrors == expected)
    }

    @Test func connectionsOpenAndClosePerListener() {
        var m = reserved(routes: 1, pools: 1, backends: 1, listeners: 3)
        m.connectionOpened(listener: 1)
        m.connectionOpened(listener: 1)
        m.connectionOpened(listener: 2)
        m.connectionClosed(listener: 1)
        #expect(m.connectionsAccepted == [0, 2, 1])
        #expect(m.connectionsOpen == [0, 1, 1])
        m.connectionClosed(listener: 1)
        m.connectionClosed(listener: 2)
        #expect(m.connectionsOpen == [0, 0, 0])
        #expect(m.connectionsAccepted == [0, 2, 1], "accepted is a counter: closing never lowers it")
    }

    /// A reload that adds ids reserves again: every count recorded before stays at its index.
    @Test func reservingMoreKeepsEveryCount() {
        var m = reserved(routes: 1, pools: 1, backends: 2, listeners: 1)
        m.recordResponse(route: 0, poolSlot: 1, backendID: 1, status: 200, nanoseconds: 60_000)
        m.recordResponse(route: 0, poolSlot: 0, backendID: nil, status: 400, nanoseconds: 1_000)
        m.recordUpstreamError(backendID: 1, kind: .timeout)
        m.connectionOpened(listener: 0)
        let before = m

        m.reserve(routes: 3, pools: 4, backends: 5, listeners: 2)
        #expect(m.backendResponses.count == 3 && m.backendResponses.allSatisfy { $0.count == 5 * classes })
        #expect(m.poolResponses.allSatisfy { $0.count == 5 * classes })
        #expect(m.latency.allSatisfy { $0.count == 5 })
        #expect(Array(m.backendResponses[0].prefix(before.backendResponses[0].count)) == before.backendResponses[0])
        #expect(Array(m.poolResponses[0].prefix(before.poolResponses[0].count)) == before.poolResponses[0])
        #expect(Array(m.latency[0].prefix(2)) == before.latency[0])
        #expect(Array(m.upstreamErrors.prefix(before.upstreamErrors.count)) == before.upstreamErrors)
        #expect(m.connectionsAccepted == [1, 0] && m.connectionsOpen == [1, 0])
        // Everything new starts at zero.
        #expect(m.backendResponses[0].dropFirst(2 * classes).allSatisfy { $0 == 0 })
        #expect(m.backendResponses[1...].allSatisfy { $0.allSatisfy { $0 == 0 } })

        // And the new slots take records.
        m.recordResponse(route: 2, poolSlot: 4, backendID: 4, status: 500, nanoseconds: 1)
        #expect(m.backendResponses[2][4 * classes + 4] == 1)
        #expect(m.latency[2][4].count == 1)
    }

    @Test func reservingLessNeverShrinks() {
        var m = reserved(routes: 2, pools: 2, backends: 2, listeners: 2)
        m.recordResponse(route: 1, poolSlot: 2, backendID: 1, status: 200, nanoseconds: 1)
        let before = m
        m.reserve(routes: 1, pools: 0, backends: 0, listeners: 0)
        #expect(m == before)
    }

    /// Workers install snapshots at different moments, so at a scrape they may have reserved
    /// different sizes; the sum has the largest shape and adds index by index.
    @Test func sumOfWorkersOfDifferentSizes() {
        var small = reserved(routes: 1, pools: 1, backends: 1, listeners: 1)
        small.recordResponse(route: 0, poolSlot: 1, backendID: 0, status: 200, nanoseconds: 40_000)
        small.recordResponse(route: 0, poolSlot: 0, backendID: nil, status: 400, nanoseconds: 10)
        small.recordUpstreamError(backendID: 0, kind: .connect)
        small.connectionOpened(listener: 0)

        var large = reserved(routes: 2, pools: 3, backends: 4, listeners: 2)
        large.recordResponse(route: 0, poolSlot: 1, backendID: 0, status: 201, nanoseconds: 60_000)
        large.recordResponse(route: 1, poolSlot: 3, backendID: 3, status: 302, nanoseconds: 5)
        large.recordUpstreamError(backendID: 3, kind: .timeout)
        large.connectionOpened(listener: 1)
        large.connectionOpened(listener: 0)
        large.connectionClosed(listener: 0)

        for total in [WorkerMetrics.sum([small, large]), WorkerMetrics.sum([large, small])] {
            #expect(total.backendResponses.count == 2 && total.backendResponses.allSatisfy { $0.count == 4 * classes })
            #expect(total.latency.allSatisfy { $0.count == 4 })
            #expect(total.backendResponses[0][0 * classes + 1] == 2)
            #expect(total.backendResponses[1][3 * classes + 2] == 1)
            #expect(total.backendResponses.joined().reduce(0, +) == 3)
            #expect(total.poolResponses[0][0 * classes + 3] == 1)
            #expect(total.latency[0][1].count == 2 && total.latency[0][1].sumNanos == 100_000)
            #expect(total.latency[0][0].count == 1 && total.latency[1][3].count == 1)
            #expect(total.upstreamErrors[UpstreamErrorKind.connect.rawValue] == 1)
            #expect(total.upstreamErrors[3 * kinds + UpstreamErrorKind.timeout.rawValue] == 1)
            #expect(total.upstreamErrors.reduce(0, +) == 2)
            #expect(total.connectionsAccepted == [2, 1])
            #expect(total.connectionsOpen == [1, 1])
        }
    }

    @Test func sumOfOneWorkerIsThatWorkerAndOfNoneIsEmpty() {
        var m = reserved(routes: 2, pools: 1, backends: 3, listeners: 1)
        m.recordResponse(route: 1, poolSlot: 1, backendID: 2, status: 200, nanoseconds: 9)
        m.connectionOpened(listener: 0)
        #expect(WorkerMetrics.sum([m]) == m)
        #expect(WorkerMetrics.sum([]) == WorkerMetrics())
        #expect(WorkerMetrics.sum([WorkerMetrics(), m]) == m)
    }
}

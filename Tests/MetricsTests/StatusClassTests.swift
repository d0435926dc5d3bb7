import Testing
import Metrics

/// The small index tables the workers' flat arrays rely on: a wrong index would count a request
/// under another label.
@Suite struct StatusClassTests {
    @Test func statusCodesMapToTheirHundreds() {
        #expect(StatusClass.index(of: 100) == 0)
        #expect(StatusClass.index(of: 199) == 0)
        #expect(StatusClass.index(of: 200) == 1)
        #expect(StatusClass.index(of: 304) == 2)
        #expect(StatusClass.index(of: 404) == 3)
        #expect(StatusClass.index(of: 499) == 3)
        #expect(StatusClass.index(of: 500) == 4)
        #expect(StatusClass.index(of: 599) == 4)
        for i in 0..<StatusClass.count { #expect(StatusClass.labels[StatusClass.index(of: (i + 1) * 100)] == "\(i + 1)xx") }
    }

    /// A status a client cannot have been sent as such is counted as a server error, never
    /// indexed out of range.
    @Test func outOfRangeStatusesCountAsServerErrors() {
        for status in [0, 42, 99, 600, 999, 1_000, -1, -200, Int.max, Int.min] {
            #expect(StatusClass.index(of: status) == 4, "status \(status)")
        }
    }

    @Test func labelsMatchTheCount() {
        #expect(StatusClass.labels == ["1xx", "2xx", "3xx", "4xx", "5xx"])
        #expect(StatusClass.labels.count == StatusClass.count)
    }

    /// Raw values are array offsets (`backendID * kinds + kind`): they must be 0..<count.
    @Test func upstreamErrorKindsAreDenseIndicesWithDistinctLabels() {
        let kinds = UpstreamErrorKind.allCases
        #expect(kinds.map(\.rawValue) == Array(0..<kinds.count))
        #expect(kinds.map(\.label) == ["connect", "timeout", "reset", "protocol"])
    }
}

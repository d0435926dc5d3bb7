/// `expect_status` of an HTTP health check: `200`, `200-399`, or a list `200,204,300-399`.
enum StatusRanges {
    /// Each code must be 100...599 and each range low-high with low ≤ high.
    static func parse(_ text: String) throws(ValueError) -> [ClosedRange<Int>] {
        let usage = "expected status codes like 200, 200-399 or 200,204,300-399"
        var ranges: [ClosedRange<Int>] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = item.trimmingSpaces
            let bounds = trimmed.split(separator: "-", omittingEmptySubsequences: false).map(\.trimmingSpaces)
            guard (1...2).contains(bounds.count) else { throw ValueError("'\(text)': \(usage)") }
            var codes: [Int] = []
            for bound in bounds {
                guard !bound.isEmpty, bound.allSatisfy({ $0.isASCII && $0.isNumber }), let code = Int(bound) else {
                    throw ValueError("'\(text)': \(usage)")
                }
                guard (100...599).contains(code) else {
                    throw ValueError("'\(text)': \(code) is not an HTTP status code (100-599)")
                }
                codes.append(code)
            }
            let low = codes[0], high = codes[codes.count - 1]
            guard low <= high else { throw ValueError("'\(text)': the range \(low)-\(high) is backwards") }
            ranges.append(low...high)
        }
        return ranges
    }

    /// `200-399` / `200,204` as written back for the plan.
    static func describe(_ ranges: [ClosedRange<Int>]) -> String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}

extension Substring {
    /// Without leading and trailing spaces (Foundation-free).
    var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}

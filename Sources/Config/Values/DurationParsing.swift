extension Duration {
    /// Parses `250ms`, `2s`, `5m`, `1h`, compounds such as `1m30s`, and a bare `0`.
    ///
    /// Units: `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`. Each part is a non-negative integer followed
    /// by a unit, as in Go's `time.ParseDuration` without fractions. Signs, spaces, fractions, a number
    /// without a unit (other than 0) and totals beyond `Int64` nanoseconds (about 292 years) are
    /// refused: a config value that is not obviously a duration is a mistake to report, not guess.
    public init?(parsing text: String) {
        if text == "0" { self.init(nanoseconds: 0); return }
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        var total: Int64 = 0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let number = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { !($0.isASCII && $0.isNumber) }
            rest = rest.dropFirst(unit.count)
            guard let scale = Self.unitScale(unit) else { return nil }
            let (part, overflowA) = number.multipliedReportingOverflow(by: scale)
            let (sum, overflowB) = total.addingReportingOverflow(part)
            guard !overflowA, !overflowB else { return nil }
            total = sum
        }
        self.init(nanoseconds: total)
    }

    /// Nanoseconds per unit, or nil for an unknown unit.
    private static func unitScale(_ unit: Substring) -> Int64? {
        switch unit {
        case "ns": return 1
        case "us", "µs": return 1_000
        case "ms": return 1_000_000
        case "s": return 1_000_000_000
        case "m": return 60_000_000_000
        case "h": return 3_600_000_000_000
        default: return nil
        }
    }
}

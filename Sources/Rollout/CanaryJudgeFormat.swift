import Glibc

/// Number formatting for the judge's sentences, without Foundation: counts with thousands
/// separators ("15,230"), percentages ("4.8 %", limits trimmed: "5 %"), durations ("412 ms").
enum JudgeFormat {
    /// 15230 → "15,230".
    static func count(_ value: UInt64) -> String {
        let digits = String(value)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    /// `value` (≥ 0) with `decimals` digits after the point, rounded half away from zero.
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value > 0 ? "∞" : "?" }
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * Double(scale)).rounded()
        guard scaled < 9e18 else { return String(Int64(value.rounded())) }
        let units = UInt64(scaled)
        var text = (value < 0 && units > 0 ? "-" : "") + String(units / scale)
        if decimals > 0 {
            let fraction = String(units % scale)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    /// Drops trailing zeros after the point, and the point: "5.00" → "5", "0.70" → "0.7".
    static func trimmed(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var text = text
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// A fraction as a percentage: one decimal from 0.1 % up, two significant digits below
    /// ("0.012 %"); `trim` drops trailing zeros (for limits: "5 %", "0.7 %").
    static func percent(_ fraction: Double, trim: Bool = false) -> String {
        let value = fraction * 100
        guard value.isFinite else { return "? %" }
        if value == 0 { return "0 %" }
        var decimals = 1
        if value < 0.095 {
            decimals = min(8, 1 - Int(log10(value).rounded(.down)))
        }
        let text = fixed(value, decimals: decimals)
        return (trim ? trimmed(text) : text) + " %"
    }

    /// Nanoseconds as "850 µs", "38 ms", "4.5 ms", "1.2 s": the largest unit the value reaches,
    /// whole from 10 up, one decimal below.
    static func duration(nanoseconds ns: Double) -> String {
        guard ns.isFinite else { return "∞" }
        let units: [(Double, String)] = [(1e9, "s"), (1e6, "ms"), (1e3, "µs")]
        for (scale, name) in units where ns >= scale * 0.9995 {
            return magnitude(ns / scale) + " " + name
        }
        return magnitude(ns) + " ns"
    }

    private static func magnitude(_ value: Double) -> String {
        value >= 9.95 ? fixed(value, decimals: 0) : trimmed(fixed(value, decimals: 1))
    }

    /// 0.99 → "p99", 0.999 → "p99.9", 0.5 → "p50".
    static func quantileName(_ q: Double) -> String {
        "p" + trimmed(fixed(q * 100, decimals: 3))
    }
}

/// Builds a Prometheus text exposition (format 0.0.4): families with HELP and TYPE, samples with
/// escaped label values, histograms with cumulative buckets. Why not swift-prometheus: its
/// metrics are live objects updated per observation (atomics or locks on the request path); the
/// workers here keep plain per-thread arrays summed at scrape time, and what remains — writing the
/// text — is this much.
public struct PrometheusText: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public private(set) var text = ""

    public init() {}

    public mutating func family(_ name: String, _ kind: Kind, help: String) {
        text += "# HELP \(name) \(PrometheusText.escape(help, quotes: false))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    public mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: Double) {
        sample(name, Array(labels), value)
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{"
            text += labels.map { "\($0.0)=\"\(PrometheusText.escape($0.1, quotes: true))\"" }.joined(separator: ",")
            text += "}"
        }
        text += " " + PrometheusText.format(value) + "\n"
    }

    /// `_bucket` (cumulative, with `le`), `_sum` (seconds) and `_count` of one histogram series.
    public mutating func histogram(_ name: String, _ labels: [(String, String)], _ histogram: LatencyHistogram) {
        var cumulative: UInt64 = 0
        for (i, count) in histogram.counts.enumerated() {
            cumulative &+= count
            let le = i < LatencyHistogram.bounds.count ? PrometheusText.format(Double(LatencyHistogram.bounds[i]) / 1e9) : "+Inf"
            sample(name + "_bucket", labels + [("le", le)], Double(cumulative))
        }
        sample(name + "_sum", labels, Double(histogram.sumNanos) / 1e9)
        sample(name + "_count", labels, Double(cumulative))
    }

    /// Integers without a fraction (counters read better so), others as Swift prints them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Label values escape backslash, double quote and newline; HELP text the same but quotes.
    static func escape(_ value: String, quotes: Bool) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"" where quotes: out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}

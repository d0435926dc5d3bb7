import Foundation
import Testing
import Metrics

/// A rendered exposition read back by real parsers: promtool (Prometheus' own parser and linter)
/// must accept it without a complaint, and Python's prometheus_client must read back exactly the
/// label values, help texts and numbers that went in, escapes undone.
@Suite struct ExpositionParserTests {
    static let awkwardLabel = "we\"ird\\name\nnext line é"
    static let awkwardHelp = "Requests by \"route\", C:\\like paths\nand a second line."

    /// Counters, gauges (fractional and negative) and a histogram, with awkward strings.
    static func exposition() -> (text: String, histogram: LatencyHistogram) {
        var h = LatencyHistogram()
        for nanos: UInt64 in [20_000, 50_000, 50_001, 3_000_000, 1_000_000_000, 75_000_000_000] {
            h.record(nanoseconds: nanos)
        }
        var out = PrometheusText()
        out.family("test_requests_total", .counter, help: awkwardHelp)
        out.sample("test_requests_total", [("route", "app"), ("backend", awkwardLabel), ("code", "2xx")], 12_345_678)
        out.sample("test_requests_total", [("route", "app"), ("backend", ""), ("code", "5xx")], 3)
        out.family("test_backend_effective_weight", .gauge, help: "Weight after slow start.")
        out.sample("test_backend_effective_weight", ["backend": "[::1]:9001"], 0.15)
        out.sample("test_backend_effective_weight", ["backend": "127.0.0.1:9002"], 2)
        out.family("test_temperature_celsius", .gauge, help: "Negative values are fine for a gauge.")
        out.sample("test_temperature_celsius", [:], -2.5)
        out.family("test_request_duration_seconds", .histogram, help: "Durations.")
        out.histogram("test_request_duration_seconds", [("route", "app"), ("pool", "blue")], h)
        out.histogram("test_request_duration_seconds", [("route", "app"), ("pool", "")], LatencyHistogram())
        return (out.text, h)
    }

    @Test func promtoolAcceptsTheExpositionWithoutLintWarnings() throws {
        let (text, _) = Self.exposition()
        let path = try ExternalTool.temporaryFile(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try ExternalTool.promtoolCheck(path)
        #expect(result.status == 0, "promtool: \(result.stdout)\(result.stderr)\n\(text)")
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "promtool: \(result.stdout)\(result.stderr)")
    }

    /// promtool really does reject a broken exposition (so the test above can fail).
    @Test func promtoolRejectsAnUnescapedQuote() throws {
        let path = try ExternalTool.temporaryFile("# HELP m x\n# TYPE m gauge\nm{a=\"b\"c\"} 1\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try ExternalTool.promtoolCheck(path).status != 0)
    }

    @Test func pythonReadsBackLabelsHelpAndValues() throws {
        let (text, _) = Self.exposition()
        let path = try ExternalTool.temporaryFile(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let families = try ExternalTool.pythonParse(path)
        #expect(families.map(\.type) == ["counter", "gauge", "gauge", "histogram"])

        let requests = try #require(families.first { $0.type == "counter" })
        #expect(requests.help == Self.awkwardHelp)
        #expect(requests.samples.map(\.name) == ["test_requests_total", "test_requests_total"])
        #expect(requests.samples[0].labels == ["route": "app", "backend": Self.awkwardLabel, "code": "2xx"])
        #expect(Double(requests.samples[0].value) == 12_345_678)
        #expect(requests.samples[1].labels["backend"] == "")
        #expect(Double(requests.samples[1].value) == 3)

        let weights = try #require(families.first { $0.name == "test_backend_effective_weight" })
        #expect(weights.samples.map { Double($0.value) } == [0.15, 2])
        #expect(weights.samples[0].labels == ["backend": "[::1]:9001"])
        let temperature = try #require(families.first { $0.name == "test_temperature_celsius" })
        #expect(temperature.samples.map { Double($0.value) } == [-2.5])
    }

    @Test func pythonReadsTheHistogramAsCumulativeSeconds() throws {
        let (text, h) = Self.exposition()
        let path = try ExternalTool.temporaryFile(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let families = try ExternalTool.pythonParse(path)
        let histogram = try #require(families.first { $0.type == "histogram" })
        let blue = histogram.samples.filter { $0.labels["pool"] == "blue" }

        let buckets = blue.filter { $0.name == "test_request_duration_seconds_bucket" }
        #expect(buckets.count == LatencyHistogram.bounds.count + 1)
        // `le` parses to the bound in seconds, in order, and the last is +Inf.
        let les = buckets.compactMap { $0.labels["le"].flatMap(Double.init) }
        #expect(les == LatencyHistogram.bounds.map { Double($0) / 1e9 } + [.infinity])
        let counts = buckets.compactMap { Double($0.value) }
        #expect(counts == [2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 6])

        let count = try #require(blue.first { $0.name == "test_request_duration_seconds_count" }.flatMap { Double($0.value) })
        let sum = try #require(blue.first { $0.name == "test_request_duration_seconds_sum" }.flatMap { Double($0.value) })
        #expect(count == Double(h.count) && counts.last == count)
        #expect(abs(sum - Double(h.sumNanos) / 1e9) < 1e-9)
        #expect(abs(sum - 76.003120001) < 1e-9)

        // The empty series is there too, all zeros.
        let empty = histogram.samples.filter { $0.labels["pool"] == "" }
        #expect(empty.count == LatencyHistogram.bounds.count + 3)
        #expect(empty.allSatisfy { Double($0.value) == 0 })
    }
}

import Testing
@testable import Metrics

/// The text format byte for byte: escaping, number formatting, and the histogram's cumulative
/// buckets. `ExpositionParserTests` then checks that real parsers read it back.
@Suite struct PrometheusTextTests {
    @Test func familyWritesHelpThenType() {
        var out = PrometheusText()
        out.family("cutover_requests_total", .counter, help: "Requests answered.")
        out.family("cutover_backend_up", .gauge, help: "Up.")
        out.family("cutover_request_duration_seconds", .histogram, help: "Durations.")
        #expect(out.text == """
            # HELP cutover_requests_total Requests answered.
            # TYPE cutover_requests_total counter
            # HELP cutover_backend_up Up.
            # TYPE cutover_backend_up gauge
            # HELP cutover_request_duration_seconds Durations.
            # TYPE cutover_request_duration_seconds histogram

            """)
    }

    @Test func samplesWithAndWithoutLabelsKeepLabelOrder() {
        var out = PrometheusText()
        out.sample("a", [:], 1)
        out.sample("b", ["z": "1", "a": "2"], 3)
        out.sample("c", [("route", "app"), ("pool", "")], 0)
        #expect(out.text == "a 1\nb{z=\"1\",a=\"2\"} 3\nc{route=\"app\",pool=\"\"} 0\n")
    }

    /// A backslash, a double quote and a newline in a label value would otherwise end the value
    /// or the line; everything else (UTF-8 included) passes as is.
    @Test func labelValuesEscapeBackslashQuoteAndNewline() {
        #expect(PrometheusText.escape(#"C:\dir"#, quotes: true) == #"C:\\dir"#)
        #expect(PrometheusText.escape(#"say "hi""#, quotes: true) == #"say \"hi\""#)
        #expect(PrometheusText.escape("two\nlines", quotes: true) == #"two\nlines"#)
        #expect(PrometheusText.escape("é/[::1]:80 {x}", quotes: true) == "é/[::1]:80 {x}")
        var out = PrometheusText()
        out.sample("m", ["v": "a\\b\"c\nd"], 1)
        #expect(out.text == #"m{v="a\\b\"c\nd"} 1"# + "\n")
    }

    /// HELP text escapes backslash and newline but leaves quotes, as the format says.
    @Test func helpEscapesBackslashAndNewlineButNotQuotes() {
        var out = PrometheusText()
        out.family("m", .gauge, help: "a \"quoted\" C:\\path\nsecond line")
        #expect(out.text.hasPrefix(#"# HELP m a "quoted" C:\\path\nsecond line"# + "\n# TYPE m gauge\n"))
        #expect(out.text.split(separator: "\n").count == 2)
    }

    @Test func wholeNumbersHaveNoFraction() {
        #expect(PrometheusText.format(0) == "0")
        #expect(PrometheusText.format(-0.0) == "0")
        #expect(PrometheusText.format(1) == "1")
        #expect(PrometheusText.format(-3) == "-3")
        #expect(PrometheusText.format(1_234_567) == "1234567")
        #expect(PrometheusText.format(999_999_999_999_999) == "999999999999999")
    }

    @Test func fractionsAndSpecialValues() {
        #expect(PrometheusText.format(0.5) == "0.5")
        #expect(PrometheusText.format(2.5) == "2.5")
        #expect(PrometheusText.format(0.001) == "0.001")
        #expect(Double(PrometheusText.format(0.00005)) == 0.00005)
        #expect(Double(PrometheusText.format(1e15)) == 1e15)
        #expect(Double(PrometheusText.format(1e300)) == 1e300)
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(-.infinity) == "-Inf")
    }

    /// Buckets are cumulative and `le` is in seconds; `+Inf` equals `_count`; `_sum` is seconds.
    @Test func histogramIsCumulativeInSeconds() throws {
        var h = LatencyHistogram()
        h.record(nanoseconds: 50_000)            // le 5e-05 (bound inclusive)
        h.record(nanoseconds: 50_001)            // le 0.0001
        h.record(nanoseconds: 1_000_000_000)     // le 1
        h.record(nanoseconds: 61_000_000_000)    // +Inf only
        var out = PrometheusText()
        out.histogram("d_seconds", [("route", "app")], h)
        let lines = out.text.split(separator: "\n").map(String.init)
        #expect(lines.count == LatencyHistogram.bounds.count + 3)

        let buckets = lines.filter { $0.hasPrefix("d_seconds_bucket{") }
        #expect(buckets.count == LatencyHistogram.bounds.count + 1)
        let values = try buckets.map { try #require(Double($0.split(separator: " ").last.map(String.init) ?? "")) }
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }, "cumulative: \(values)")
        #expect(buckets[0] == #"d_seconds_bucket{route="app",le="5e-05"} 1"#)
        #expect(buckets[1] == #"d_seconds_bucket{route="app",le="0.0001"} 2"#)
        #expect(buckets.contains(#"d_seconds_bucket{route="app",le="0.5"} 2"#))
        #expect(buckets.contains(#"d_seconds_bucket{route="app",le="1"} 3"#))
        #expect(buckets.contains(#"d_seconds_bucket{route="app",le="60"} 3"#))
        #expect(buckets.last == #"d_seconds_bucket{route="app",le="+Inf"} 4"#)

        let sum = try #require(lines[lines.count - 2].split(separator: " ").last.flatMap { Double($0) })
        #expect(lines[lines.count - 2].hasPrefix(#"d_seconds_sum{route="app"} "#))
        #expect(abs(sum - 62.000_100_001) < 1e-9, "sum \(sum)")
        #expect(lines[lines.count - 1] == #"d_seconds_count{route="app"} 4"#)
    }

    @Test func emptyHistogramHasEveryBucketAtZero() {
        var out = PrometheusText()
        out.histogram("d_seconds", [], LatencyHistogram())
        let lines = out.text.split(separator: "\n")
        #expect(lines.count == LatencyHistogram.bounds.count + 3)
        #expect(lines.allSatisfy { $0.hasSuffix(" 0") })
        #expect(lines.last == "d_seconds_count 0")
    }
}

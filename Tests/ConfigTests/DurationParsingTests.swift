import Config
import Testing

/// `Duration(parsing:)`: integer-and-unit parts, compounds, bare 0; nothing else.
@Suite struct DurationParsingTests {
    @Test(arguments: [
        ("0", Int64(0)),
        ("0s", 0),
        ("7ns", 7),
        ("10us", 10_000),
        ("10µs", 10_000),
        ("250ms", 250_000_000),
        ("2s", 2_000_000_000),
        ("5m", 300_000_000_000),
        ("1h", 3_600_000_000_000),
        ("1m30s", 90_000_000_000),
        ("1h2m3s4ms", 3_723_004_000_000),
        ("90s", 90_000_000_000),
    ])
    func valid(text: String, nanoseconds: Int64) {
        #expect(Config.Duration(parsing: text)?.nanoseconds == nanoseconds)
    }

    @Test(arguments: ["", "2", "-1s", "+1s", "1.5s", "s", "1x", "1 s", " 1s", "1s ", "1S", "1d", "ms1",
                      "99999999999h", "9223372036854775808ns", "1s-2s"])
    func invalid(text: String) {
        #expect(Config.Duration(parsing: text) == nil)
    }

    @Test func descriptionUsesTheLargestExactUnit() {
        #expect(Config.Duration.seconds(30).description == "30s")
        #expect(Config.Duration.milliseconds(250).description == "250ms")
        #expect(Config.Duration(nanoseconds: 1_500).description == "1500ns")
    }
}

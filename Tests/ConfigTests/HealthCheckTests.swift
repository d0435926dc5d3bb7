import Config
import Testing

/// `health_check:` and `passive:` rules. `health_check:` is always on line 10, its keys from line 11.
@Suite struct HealthCheckTests {
    /// `headBeforePools` + a pool whose health check body is `body` (indented 6 spaces, from line 11).
    static func config(_ body: String, key: String = "health_check") -> String {
        headBeforePools + "pools:\n  blue:\n    \(key):\n" + body + "    backends: [{ address: 127.0.0.1:9001 }]\n"
    }

    @Test func emptyHealthCheckTakesEveryDefault() throws {
        let yaml = headBeforePools + "pools:\n  blue:\n    health_check: {}\n    backends: [{ address: 127.0.0.1:9001 }]\n"
        let check = try #require(parseValid(yaml)?.pool(named: "blue")?.healthCheck)
        #expect(check.type == .http)
        #expect(check.path == "/")
        #expect(check.host == nil)
        #expect(check.port == nil)
        #expect(check.interval == .seconds(2))
        #expect(check.timeout == .seconds(1))
        #expect(check.rise == 2)
        #expect(check.fall == 3)
        #expect(check.expectStatus == [200...399])
    }

    @Test func everyKeyIsRead() throws {
        let body = """
                  type: http
                  path: /healthz?full=1
                  host: status.internal
                  port: 9090
                  interval: 500ms
                  timeout: 250ms
                  rise: 1
                  fall: 5
                  expect_status: 204

            """
        let check = try #require(parseValid(Self.config(body))?.pool(named: "blue")?.healthCheck)
        #expect(check.path == "/healthz?full=1")
        #expect(check.host == "status.internal")
        #expect(check.port == 9090)
        #expect(check.interval == .milliseconds(500))
        #expect(check.timeout == .milliseconds(250))
        #expect(check.rise == 1)
        #expect(check.fall == 5)
        #expect(check.expectStatus == [204...204])
    }

    @Test(arguments: [
        ("200", [200...200]),
        ("200-399", [200...399]),
        ("'200,204,300-399'", [200...200, 204...204, 300...399]),
        ("200, 302", [200...200, 302...302]),
    ])
    func expectStatusForms(text: String, expected: [ClosedRange<Int>]) throws {
        let yaml = Self.config("      expect_status: \(text)\n")
        #expect(try #require(parseValid(yaml)?.pool(named: "blue")?.healthCheck).expectStatus == expected)
    }

    @Test(arguments: [
        ("600", "600 is not an HTTP status code"),
        ("399-200", "the range 399-200 is backwards"),
        ("2xx", "expected status codes like 200, 200-399 or 200,204,300-399"),
        ("200-", "expected status codes like"),
        ("200,,204", "expected status codes like"),
    ])
    func expectStatusRejects(text: String, reason: String) {
        expectError(Self.config("      expect_status: \(text)\n"), line: 11, column: 22,
                    "invalid 'pools.blue.health_check.expect_status': ")
        expectError(Self.config("      expect_status: \(text)\n"), line: 11, column: 22, reason)
    }

    @Test func pathMustStartWithASlash() {
        expectError(Self.config("      path: healthz\n"), line: 11, column: 13,
                    "invalid 'pools.blue.health_check.path': must start with '/' and contain no spaces, found 'healthz'")
    }

    @Test(arguments: ["interval", "timeout"])
    func intervalsMustBePositive(key: String) {
        expectError(Self.config("      \(key): 0s\n"), line: 11, column: key.count + 9,
                    "invalid 'pools.blue.health_check.\(key)': must be greater than 0")
    }

    @Test func intervalNeedsAUnit() {
        expectError(Self.config("      interval: 2\n"), line: 11, column: 17, "found '2' (a number needs a unit)")
    }

    @Test func negativeDurationsAreRejected() {
        expectError(Self.config("      timeout: -1s\n"), line: 11, column: 16,
                    "invalid 'pools.blue.health_check.timeout': expected a duration like 250ms, 2s or 5m, found '-1s'")
    }

    @Test(arguments: ["rise", "fall"])
    func riseAndFallAreAtLeastOne(key: String) {
        expectError(Self.config("      \(key): 0\n"), line: 11, column: 13,
                    "invalid 'pools.blue.health_check.\(key)': must be at least 1, found 0")
    }

    @Test func portIsAPortNumber() {
        expectError(Self.config("      port: 70000\n"), line: 11, column: 13,
                    "invalid 'pools.blue.health_check.port': must be between 1 and 65535, found 70000")
    }

    @Test func typeMustBeKnown() {
        expectError(Self.config("      type: udp\n"), line: 11, column: 13, "expected one of 'http', 'tcp', found 'udp'")
    }

    @Test func tcpChecksTakeNoHTTPKeys() throws {
        let check = try #require(parseValid(Self.config("      type: tcp\n      port: 9100\n"))?.pool(named: "blue")?.healthCheck)
        #expect(check.type == .tcp)
        #expect(check.port == 9100)
        expectError(Self.config("      type: tcp\n      path: /healthz\n"), line: 12, column: 7,
                    "'path' only applies to 'type: http' health checks")
    }

    @Test func unknownKeySuggests() {
        expectError(Self.config("      intervall: 2s\n"), line: 11, column: 7,
                    "unknown key 'intervall' in pools.blue.health_check (did you mean 'interval'?)")
    }

    @Test func passiveDefaultsAndOverrides() throws {
        let defaults = try #require(parseValid(Self.config("      {}\n", key: "passive"))?.pool(named: "blue")?.passive)
        #expect(defaults.consecutiveFailures == 5)
        #expect(defaults.ejectFor == .seconds(30))
        let set = try #require(parseValid(Self.config("      consecutive_failures: 2\n      eject_for: 10s\n", key: "passive"))?
            .pool(named: "blue")?.passive)
        #expect(set.consecutiveFailures == 2)
        #expect(set.ejectFor == .seconds(10))
    }

    @Test func passiveRejectsZero() {
        expectError(Self.config("      consecutive_failures: 0\n", key: "passive"), line: 11, column: 29,
                    "invalid 'pools.blue.passive.consecutive_failures': must be at least 1")
        expectError(Self.config("      eject_for: 0s\n", key: "passive"), line: 11, column: 18,
                    "invalid 'pools.blue.passive.eject_for': must be greater than 0")
    }
}

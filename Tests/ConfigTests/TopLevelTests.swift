import Config
import Testing

/// `workers`, `admin`, `timeouts`, `limits`, `access_log`. Appended sections start on line 12.
@Suite struct TopLevelTests {
    @Test func workersAcceptsAutoOrAPositiveCount() throws {
        #expect(try #require(parseValid(minimalConfig + "workers: auto\n")).workers == .auto)
        #expect(try #require(parseValid(minimalConfig + "workers: 4\n")).workers == .fixed(4))
    }

    @Test(arguments: ["0", "-2", "many", "2000", "1.5"])
    func workersRejectsOtherValues(value: String) {
        expectError(minimalConfig + "workers: \(value)\n", line: 12, column: 10,
                    "invalid 'workers': expected 'auto' or a number of threads from 1 to 1024")
    }

    @Test func adminIsAbsentUnlessConfigured() throws {
        #expect(try #require(parseValid(minimalConfig)).admin == nil)
        let admin = try #require(parseValid(minimalConfig + "admin:\n  listen: 127.0.0.1:9901\n")?.admin)
        #expect(admin.listen == HostPort(host: "127.0.0.1", port: 9901))
        #expect(admin.token == nil)
        let withToken = try #require(parseValid(minimalConfig + "admin: { listen: '[::1]:9901', token: s3cret }\n")?.admin)
        #expect(withToken.listen.description == "[::1]:9901")
        #expect(withToken.token == "s3cret")
    }

    @Test func adminNeedsListen() {
        expectError(minimalConfig + "admin:\n  token: abc\n", line: 13, column: 3,
                    "missing required key 'listen' in admin")
    }

    @Test func adminListenMustBeHostPort() {
        expectError(minimalConfig + "admin:\n  listen: 127.0.0.1\n", line: 13, column: 11,
                    "invalid 'admin.listen': '127.0.0.1' has no port")
    }

    @Test func adminTokenMustFitABearerHeader() {
        expectError(minimalConfig + "admin:\n  listen: 127.0.0.1:9901\n  token: \"a b\"\n", line: 14, column: 10,
                    "invalid 'admin.token': must be printable ASCII without spaces")
    }

    @Test func adminCannotShareAListenerAddress() {
        expectError(minimalConfig + "admin:\n  listen: 127.0.0.1:8080\n", line: 13, column: 11,
                    "admin address 127.0.0.1:8080 is already used by listener 'web'")
    }

    @Test func timeoutsOverrideDefaultsAndShutdownDelayMayBeZero() throws {
        let yaml = minimalConfig + """
            timeouts:
              connect: 500ms
              client_header: 5s
              upstream_response: 2m
              idle: 90s
              shutdown_delay: 0
              shutdown: 1m30s
            """
        let t = try #require(parseValid(yaml)).timeouts
        #expect(t.connect == .milliseconds(500))
        #expect(t.clientHeader == .seconds(5))
        #expect(t.upstreamResponse == .seconds(120))
        #expect(t.idle == .seconds(90))
        #expect(t.shutdownDelay == .seconds(0))
        #expect(t.shutdown == .seconds(90))
    }

    @Test(arguments: ["connect", "client_header", "upstream_response", "idle", "shutdown"])
    func timeoutsMustBePositive(key: String) {
        expectError(minimalConfig + "timeouts:\n  \(key): 0s\n", line: 13, column: key.count + 5,
                    "invalid 'timeouts.\(key)': must be greater than 0")
    }

    @Test func timeoutWithoutUnitSaysSo() {
        expectError(minimalConfig + "timeouts:\n  idle: 60\n", line: 13, column: 9,
                    "invalid 'timeouts.idle': expected a duration like 250ms, 2s or 5m, found '60' (a number needs a unit)")
    }

    @Test func timeoutsRejectUnknownKeys() {
        expectError(minimalConfig + "timeouts:\n  conect: 1s\n", line: 13, column: 3,
                    "unknown key 'conect' in timeouts (did you mean 'connect'?)")
    }

    @Test func limitsOverrideDefaults() throws {
        let limits = try #require(parseValid(minimalConfig + "limits: { max_connections: 5, max_header_bytes: 1024 }\n")).limits
        #expect(limits.maxConnections == 5)
        #expect(limits.maxHeaderBytes == 1024)
    }

    @Test func maxConnectionsMustBeAtLeastOne() {
        expectError(minimalConfig + "limits:\n  max_connections: 0\n", line: 13, column: 20,
                    "invalid 'limits.max_connections': must be at least 1, found 0")
    }

    @Test(arguments: ["512", "2097152"])
    func maxHeaderBytesHasBounds(value: String) {
        expectError(minimalConfig + "limits:\n  max_header_bytes: \(value)\n", line: 13, column: 21,
                    "invalid 'limits.max_header_bytes': must be between 1024 and 1048576")
    }

    @Test(arguments: [
        ("off", AccessLogConfig.off),
        ("false", .off),
        ("'off'", .off),
        ("stdout", .stdout),
        ("\"stdout\"", .stdout),
        ("/var/log/cutover/access.log", .file("/var/log/cutover/access.log")),
        ("logs/access.log", .file("logs/access.log")),
    ])
    func accessLog(value: String, expected: AccessLogConfig) throws {
        #expect(try #require(parseValid(minimalConfig + "access_log: \(value)\n")).accessLog == expected)
    }

    @Test(arguments: ["true", "on", "[stdout]", "''"])
    func accessLogRejectsOtherValues(value: String) {
        expectError(minimalConfig + "access_log: \(value)\n", line: 12, column: 13,
                    "invalid 'access_log': expected 'off', 'stdout' or a file path")
    }
}

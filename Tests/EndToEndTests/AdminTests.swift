import Foundation
import Glibc
import Testing

/// The admin API (`/healthz`, `/ready`, `/status`, `/metrics`, `POST /reload`, the bearer token)
/// and the commands that use it (`cutover reload`, `cutover status`), against the real binary.
@Suite struct AdminTests {
    /// A blue/green proxy with the admin API on a port of its own.
    struct Setup {
        let bed: TestBed
        let blue: Backend
        let green: Backend
        let proxy: ProxyProcess
        let adminPort: UInt16
        let token: String?

        func config(blue blueWeight: Int, green greenWeight: Int) -> ProxyConfig {
            ReloadTests.blueGreen(port: proxy.port, blue: blue, green: green, split: (blueWeight, greenWeight))
                .withAdmin(port: adminPort, token: token)
        }

        /// Rewrites the config file without signalling the proxy.
        func write(_ yaml: String) throws {
            try yaml.write(to: proxy.configURL, atomically: true, encoding: .utf8)
        }

        /// One request to the admin API on a connection of its own.
        func admin(_ method: String, _ path: String, token: String? = nil) async throws -> HTTPResponse {
            let client = try RawClient(port: adminPort)
            var request = "\(method) \(path) HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n"
            if let token { request += "Authorization: Bearer \(token)\r\n" }
            if method == "POST" { request += "Content-Length: 0\r\n" }
            try client.send(request + "\r\n")
            return try await client.readResponse(toHEAD: method == "HEAD")
        }

        func json(_ response: HTTPResponse) throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
                throw ChildFailure("not a JSON object: \(response.bodyText)")
            }
            return object
        }

        func backends(count: Int) async throws -> [String] {
            try await curlSequence(port: proxy.port, count: count, in: bed.directory).map { $0.status == 200 ? $0.backend : "status \($0.status)" }
        }

        func cutover(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await CutoverBinary.run(arguments, in: bed.directory)
        }
    }

    static func start(token: String? = nil) async throws -> Setup {
        let bed = try TestBed()
        let blue = try await bed.backend("blue")
        let green = try await bed.backend("green")
        let port = try Ports.free()
        let adminPort = try Ports.free()
        let config = ReloadTests.blueGreen(port: port, blue: blue, green: green, split: (100, 0))
            .withAdmin(port: adminPort, token: token)
        let proxy = try await bed.proxy(config)
        return Setup(bed: bed, blue: blue, green: green, proxy: proxy, adminPort: adminPort, token: token)
    }

    @Test func postReloadAppliesASplitChangeAndAnswersWithTheGeneration() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        #expect(try await s.backends(count: 3) == ["blue", "blue", "blue"])

        try s.write(s.config(blue: 0, green: 100).yaml)
        let response = try await s.admin("POST", "/reload")

        #expect(response.status == 200, "\(response.bodyText)")
        #expect(response.header("Content-Type") == "application/json")
        let answer = try s.json(response)
        #expect(answer["ok"] as? Bool == true)
        #expect(answer["generation"] as? Int == 2)
        #expect(answer["changes"] as? [String] == ["route app: blue 100 → 0, green 0 → 100"], "\(response.bodyText)")
        // The answer came after every worker took the new snapshot: no waiting here.
        #expect(try await s.backends(count: 10) == Array(repeating: "green", count: 10))
    }

    @Test func anInvalidFileIsRejectedWith422AndTheOldConfigKeepsServing() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        let valid = s.config(blue: 0, green: 100).yaml
        let badLine = valid.split(separator: "\n").count + 1
        try s.write(valid + "bogus_key: 1\n")

        let response = try await s.admin("POST", "/reload")

        #expect(response.status == 422, "\(response.bodyText)")
        let answer = try s.json(response)
        #expect(answer["ok"] as? Bool == false)
        let error = try #require(answer["error"] as? String)
        #expect(error.hasPrefix("\(s.proxy.configURL.path):\(badLine):1: "), "\(error)")
        #expect(error.contains("unknown key 'bogus_key'"), "\(error)")
        #expect(try await s.backends(count: 5) == Array(repeating: "blue", count: 5))
        #expect(try await s.green.counts().heads == 0)

        let status = try s.json(try await s.admin("GET", "/status"))
        #expect(status["generation"] as? Int == 1)
        let last = try #require(status["last_reload"] as? [String: Any])
        #expect(last["result"] as? String == "failure")
        #expect(last["error"] as? String == error)
        let metrics = try await s.admin("GET", "/metrics").bodyText
        #expect(metrics.contains("cutover_config_reloads_total{result=\"failure\"} 1\n"), "\(metrics)")
        #expect(metrics.contains("cutover_config_generation 1\n"), "\(metrics)")
    }

    @Test func cutoverReloadExitsZeroWhenAppliedOneWhenRejectedTwoWhenUnreachable() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        let file = s.proxy.configURL.path

        try s.write(s.config(blue: 0, green: 100).yaml)
        let applied = try await s.cutover(["reload", "-c", file])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("reloaded: generation 2"), "\(applied.stdout)")
        #expect(applied.stdout.contains("route app: blue 100 → 0, green 0 → 100"), "\(applied.stdout)")
        #expect(try await s.backends(count: 3) == ["green", "green", "green"])

        // The admin address comes from the file even though the rest of it is now invalid.
        let valid = s.config(blue: 100, green: 0).yaml
        try s.write(valid + "bogus_key: 1\n")
        let rejected = try await s.cutover(["reload", "-c", file])
        #expect(rejected.status == 1)
        #expect(rejected.stderr.contains("\(file):\(valid.split(separator: "\n").count + 1):1: unknown key 'bogus_key'"), "\(rejected.stderr)")
        #expect(try await s.backends(count: 3) == ["green", "green", "green"])

        let nobody = try s.bed.refusingPort()
        let unreachable = try await s.cutover(["reload", "--admin", "127.0.0.1:\(nobody)", "-c", file])
        #expect(unreachable.status == 2)
        #expect(unreachable.stderr.contains("cannot connect to the admin API at 127.0.0.1:\(nobody)"), "\(unreachable.stderr)")

        // SIGHUP and the API count in the same metrics.
        try s.proxy.reload(valid)
        try await waitUntil("the SIGHUP reload is counted") {
            try await s.admin("GET", "/metrics").bodyText.contains("cutover_config_reloads_total{result=\"success\"} 2\n")
        }
    }

    @Test func healthzAndReadyAnswer200AndReadyTurns503OnceShutdownBegins() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        let health = try await s.admin("GET", "/healthz")
        #expect(health.status == 200)
        #expect(health.bodyText == "ok\n")
        #expect(try await s.admin("GET", "/ready").status == 200)
        #expect(try await s.admin("HEAD", "/ready").status == 200)

        // A slow request keeps the process alive after SIGTERM.
        async let inFlight = s.bed.curl(["http://127.0.0.1:\(s.proxy.port)/slow?ms=3000", "-w", " %{http_code}"])
        try await waitUntil("the backend has the slow request") { try await s.blue.counts().heads == 1 }
        s.proxy.child.send(signal: SIGTERM)
        try await waitUntil("/ready answers 503") { try await s.admin("GET", "/ready").status == 503 }
        #expect(try await s.admin("GET", "/healthz").status == 200)
        #expect(s.proxy.child.isRunning)
        let status = try s.json(try await s.admin("GET", "/status"))
        #expect(status["ready"] as? Bool == false)

        #expect(try await inFlight.text == "slow 200")
        #expect(try await s.proxy.child.waitForExit(timeout: .seconds(5)) == 0)
    }

    @Test func theTokenIsRequiredExceptForHealthzAndReady() async throws {
        let s = try await Self.start(token: "s3cret-token")
        defer { s.bed.tearDown() }
        for path in ["/status", "/metrics", "/nowhere"] {
            let bare = try await s.admin("GET", path)
            #expect(bare.status == 401, "\(path)")
            #expect(bare.header("WWW-Authenticate")?.hasPrefix("Bearer") == true, "\(path)")
            #expect(try await s.admin("GET", path, token: "s3cret-tokeN").status == 401, "\(path)")
            #expect(try await s.admin("GET", path, token: "s3cret").status == 401, "\(path)")
        }
        #expect(try await s.admin("POST", "/reload").status == 401)
        #expect(try await s.admin("GET", "/status", token: "s3cret-token").status == 200)
        #expect(try await s.admin("GET", "/nowhere", token: "s3cret-token").status == 404)
        #expect(try await s.admin("GET", "/healthz").status == 200)
        #expect(try await s.admin("GET", "/ready").status == 200)

        // The commands take the token from the file, or from --token (which wins).
        let file = s.proxy.configURL.path
        let fromFile = try await s.cutover(["status", "-c", file])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        let wrong = try await s.cutover(["reload", "-c", file, "--token", "wrong"])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("401"), "\(wrong.stderr)")
        let right = try await s.cutover(["reload", "--admin", "127.0.0.1:\(s.adminPort)", "--token", "s3cret-token",
                                         "-c", s.bed.directory.appendingPathComponent("absent.yaml").path])
        #expect(right.status == 0, "\(right.stderr)")
    }

    @Test func statusReportsRoutesPoolsBackendsListenersAndTheLastReload() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        let before = try s.json(try await s.admin("GET", "/status"))
        #expect(before["generation"] as? Int == 1)
        #expect(before["config_file"] as? String == s.proxy.configURL.path)
        #expect(before["last_reload"] is NSNull)

        try s.write(s.config(blue: 25, green: 75).yaml)
        #expect(try await s.admin("POST", "/reload").status == 200)
        let status = try s.json(try await s.admin("GET", "/status"))

        #expect(status["generation"] as? Int == 2)
        let last = try #require(status["last_reload"] as? [String: Any])
        #expect(last["result"] as? String == "success")
        #expect((last["at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } != nil, "\(last)")
        let routes = try #require(status["routes"] as? [[String: Any]])
        #expect(routes.count == 1)
        #expect(routes.first?["name"] as? String == "app")
        let split = try #require(routes.first?["pools"] as? [[String: Any]])
        #expect(split.map { $0["name"] as? String } == ["blue", "green"])
        #expect(split.map { $0["configured_weight"] as? Int } == [25, 75])
        #expect(split.map { $0["effective_weight"] as? Int } == [25, 75])
        let pools = try #require(status["pools"] as? [[String: Any]])
        #expect(pools.map { $0["name"] as? String } == ["blue", "green"])
        #expect(pools.first?["balance"] as? String == "round_robin")
        let backend = try #require((pools.first?["backends"] as? [[String: Any]])?.first)
        #expect(backend["address"] as? String == "127.0.0.1:\(s.blue.port)")
        #expect(backend["weight"] as? Int == 1)
        #expect(backend["effective_weight"] as? Int == 1)
        #expect(backend["state"] as? String == "healthy")
        #expect(backend["in_flight"] as? Int == 0)
        #expect(backend["connections"] is Int)
        let listeners = try #require(status["listeners"] as? [[String: Any]])
        #expect(listeners.first?["name"] as? String == "web")
        #expect(listeners.first?["listen"] as? String == "127.0.0.1:\(s.proxy.port)")
    }

    @Test func cutoverStatusPrintsThePlainTableWhenNotOnATerminal() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        #expect(try await s.backends(count: 3) == ["blue", "blue", "blue"])
        let (status, stdout, stderr) = try await s.cutover(["status", "--admin", "127.0.0.1:\(s.adminPort)"])

        #expect(status == 0, "\(stderr)")
        #expect(!stdout.contains("\u{1B}["), "colour escapes in piped output: \(stdout)")
        let lines = stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines.contains("app blue 100 (100%) 100 (100%)"), "\(stdout)")
        #expect(lines.contains("green 0 (0%) 0 (0%)"), "\(stdout)")
        #expect(lines.contains("POOL BACKEND STATE WEIGHT EFFECTIVE IN-FLIGHT CONNECTIONS REQUESTS ERRORS"), "\(stdout)")
        // Blue answered the three requests and keeps their upstream connection idle (1).
        #expect(lines.contains("blue (round_robin) 127.0.0.1:\(s.blue.port) healthy 1 1 0 1 3 0"), "\(stdout)")
        #expect(lines.contains("green (round_robin) 127.0.0.1:\(s.green.port) healthy 1 1 0 0 0 0"), "\(stdout)")
    }

    @Test func unknownPathsWrongMethodsAndKeepAlive() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        #expect(try await s.admin("GET", "/nowhere").status == 404)
        let getReload = try await s.admin("GET", "/reload")
        #expect(getReload.status == 405)
        #expect(getReload.header("Allow") == "POST")
        #expect(try await s.admin("DELETE", "/status").status == 405)

        // Two requests on one connection, then a malformed one ends it with 400.
        let client = try RawClient(port: s.adminPort)
        try client.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await client.readResponse().bodyText == "ok\n")
        let metrics = try await client.readResponse()
        #expect(metrics.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(metrics.bodyText.contains("# TYPE cutover_config_generation gauge\ncutover_config_generation 1\n"), "\(metrics.bodyText)")
        #expect(metrics.bodyText.contains("cutover_config_reloads_total{result=\"success\"} 0\n"), "\(metrics.bodyText)")
        try client.send("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        #expect(try await client.readResponse().status == 400)
        #expect(try await client.closesWithoutMoreData())
    }
}

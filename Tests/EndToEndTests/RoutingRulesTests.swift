import Foundation
import Testing

/// Issue 16: one listener in front of several services. Rules send hosts, paths, headers and
/// cookies to routes, each with its own split; a switch on one route leaves the others alone;
/// `hash_on` cohorts are stable across requests, processes and a growing canary; the proxy
/// answers `respond` and `redirect` rules itself on a kept-alive connection; header edits apply
/// both ways; paths are matched and forwarded in their normal form; `/status`, `/metrics` and
/// `cutover check` name the rules.
@Suite struct RoutingRulesTests {
    typealias Route = RoutingRulesBed.Route
    typealias Request = RoutingRulesBed.Request

    /// Three services: the site (`app`, the default, 80/20), an API by host and path (70/30), and
    /// static files by path or by an `*.example.org` host.
    static let services = [
        Route(name: "app", split: [("app-blue", 80), ("app-green", 20)]),
        Route(name: "api", split: [("api-blue", 70), ("api-green", 30)]),
        Route(name: "static", split: [("static", 100)]),
    ]
    static let serviceRules = [
        "{ name: api, host: api.example.com, path_prefix: /v2/, route: api }",
        "{ name: static, path_prefix: /static/, route: static }",
        "{ name: docs, host: \"*.example.org\", route: static }",
    ]

    /// One round of requests: each with the route it must reach.
    static let round: [(request: Request, route: String)] = [
        (Request(host: "api.example.com", "/v2/users"), "api"),
        (Request(host: "API.Example.COM:8443", "/v2/orders?id=1"), "api"),
        (Request(host: "api.example.com", "/v3/users"), "app"),
        (Request(host: "www.example.com", "/static/logo.png"), "static"),
        (Request(host: "www.example.com", "/staticky"), "app"),
        (Request(host: "docs.example.org", "/guide"), "static"),
        (Request(host: "a.docs.example.org", "/guide"), "app"),
        (Request(host: "shop.test", "/"), "app"),
    ]

    /// Sends `rounds` rounds and returns, per route, how many requests each pool served; fails the
    /// test for a request that reached a pool outside its route.
    static func run(_ s: RoutingRulesBed, rounds: Int, routes: [Route] = services) async throws -> [String: [String: Int]] {
        let requests = (0..<rounds).flatMap { _ in round }
        let answers = try await s.send(requests.map(\.request))
        var served: [String: [String: Int]] = [:]
        for ((request, route), answer) in zip(requests, answers) {
            let pools = routes.first { $0.name == route }!.split.map(\.pool)
            #expect(pools.contains(answer.pool), "Host \(request.host) \(request.path): served by \(answer.pool), not route \(route)")
            served[route, default: [:]][answer.pool, default: 0] += 1
        }
        return served
    }

    /// Each pool's share of `served` is within one request of its weight (a smooth weighted
    /// rotation is never further off in any window).
    static func expectSplit(_ served: [String: Int]?, _ split: [(pool: String, weight: Int)], _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let served = served ?? [:]
        let total = served.values.reduce(0, +)
        let weights = split.map(\.weight).reduce(0, +)
        for (pool, weight) in split {
            let expected = Double(total * weight) / Double(weights)
            #expect(abs(Double(served[pool] ?? 0) - expected) <= 1, "\(what): \(pool) served \(served[pool] ?? 0) of \(total), weight \(weight) → \(expected): \(served)",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func hostsAndPathsReachTheirRoutesEachWithItsOwnSplit() async throws {
        let s = try await RoutingRulesBed.start(routes: Self.services, rules: Self.serviceRules)
        defer { s.bed.tearDown() }
        let served = try await Self.run(s, rounds: 50)
        #expect(served.mapValues { $0.values.reduce(0, +) } == ["api": 100, "app": 200, "static": 100])
        Self.expectSplit(served["api"], Self.services[1].split, "api")
        Self.expectSplit(served["app"], Self.services[0].split, "app")
        #expect(served["static"] == ["static": 100])
        // The backends counted what the clients saw.
        let heads = try await s.heads()
        #expect(heads == served.values.reduce(into: [:]) { $0.merge($1, uniquingKeysWith: +) }, "\(heads) vs \(served)")
    }

    @Test func aSwitchOnOneRouteDoesNotMoveTheOtherRoutes() async throws {
        // app carries an override header so `cutover switch` can smoke-test its standby pool.
        var routes = Self.services
        routes[0].lines = ["override: { header: X-Cutover-Pool }"]
        let s = try await RoutingRulesBed.start(routes: routes, rules: Self.serviceRules)
        defer { s.bed.tearDown() }
        let before = try await Self.run(s, rounds: 20)
        Self.expectSplit(before["api"], routes[1].split, "api before")
        Self.expectSplit(before["app"], routes[0].split, "app before")

        // api goes all green by an edit of its split and SIGHUP: app and static keep theirs.
        routes[1].split = [("api-blue", 0), ("api-green", 100)]
        try await s.reload(s.config(routes, rules: Self.serviceRules))
        let apiGreen = try await Self.run(s, rounds: 20)
        #expect(apiGreen["api"] == ["api-green": 40], "\(apiGreen)")
        Self.expectSplit(apiGreen["app"], routes[0].split, "app after api's switch")
        #expect(apiGreen["static"] == ["static": 40])

        // app goes all green by `cutover switch` (smoke test through the listener): api stays green.
        let switched = try await CutoverBinary.run(["switch", "app", "app-green", "-c", s.proxy.configURL.path],
                                                   in: s.bed.directory, timeout: .seconds(30))
        #expect(switched.status == 0, "\(switched)")
        let appGreen = try await Self.run(s, rounds: 20)
        #expect(appGreen["app"] == ["app-green": 80], "\(appGreen)")
        #expect(appGreen["api"] == ["api-green": 40], "\(appGreen)")
        #expect(appGreen["static"] == ["static": 40])

        // api, reached only through its rule, back to blue by `cutover switch`: app stays green.
        let back = try await CutoverBinary.run(["switch", "api", "api-blue", "--no-smoke-test", "-c", s.proxy.configURL.path],
                                               in: s.bed.directory, timeout: .seconds(30))
        #expect(back.status == 0, "\(back)")
        let apiBlue = try await Self.run(s, rounds: 20)
        #expect(apiBlue["api"] == ["api-blue": 40], "\(apiBlue)")
        #expect(apiBlue["app"] == ["app-green": 80], "\(apiBlue)")
    }

    /// An operator switching the API, a route only its rule reaches, the way they switch the site:
    /// the smoke test has to go through the listener as the rule's requests do (its host).
    @Test func switchSmokeTestsARouteReachedOnlyThroughItsRule() async throws {
        var routes = Self.services
        routes[1].lines = ["override: { header: X-Cutover-Pool }"]
        // The rule names a host only: the test backends answer `/`, the smoke path, and nothing under /v2/.
        let s = try await RoutingRulesBed.start(routes: routes, rules: ["{ name: api, host: api.example.com, route: api }"])
        defer { s.bed.tearDown() }
        let switched = try await CutoverBinary.run(["switch", "api", "api-green", "-c", s.proxy.configURL.path],
                                                   in: s.bed.directory, timeout: .seconds(30))
        try #require(switched.status == 0, "\(switched)")
        #expect(switched.stdout.contains("via listener web and rule api"), "\(switched)")
        let answers = try await s.send((0..<20).map { i in Request(host: i % 2 == 0 ? "api.example.com" : "www.example.net", "/") })
        for (i, answer) in answers.enumerated() {
            if i % 2 == 0 {
                #expect(answer.pool == "api-green", "api after its switch: \(answer.pool)")
            } else {
                #expect(["app-blue", "app-green"].contains(answer.pool), "app after api's switch: \(answer.pool)")
            }
        }
    }

    @Test func aHeaderCohortAndACookieCohortReachInternal() async throws {
        let routes = [Route(name: "app", split: [("app-blue", 100)]), Route(name: "internal", split: [("internal", 100)])]
        let s = try await RoutingRulesBed.start(routes: routes, rules: [
            "{ name: staff, header: { X-Internal-User: \"1\" }, route: internal }",
            "{ name: beta, cookie: { beta: \"yes\" }, route: internal }",
        ])
        defer { s.bed.tearDown() }
        let cases: [(headers: [String], pool: String)] = [
            ([], "app-blue"),
            (["X-Internal-User: 1"], "internal"),
            (["x-internal-user: 1"], "internal"),
            (["X-Internal-User: 0"], "app-blue"),
            (["X-Internal-User: 10"], "app-blue"),
            (["Cookie: beta=yes"], "internal"),
            (["Cookie: theme=dark; beta=yes; lang=en"], "internal"),
            (["Cookie: theme=dark", "Cookie: beta=yes"], "internal"),
            (["Cookie: beta=no"], "app-blue"),
            (["Cookie: xbeta=yes"], "app-blue"),
            (["Cookie: theme=beta=yes"], "app-blue"),
            (["X-Beta: yes"], "app-blue"),
        ]
        let answers = try await s.send(cases.map { Request(host: "www.example.com", "/", $0.headers) })
        for (c, answer) in zip(cases, answers) {
            #expect(answer.pool == c.pool, "\(c.headers): served by \(answer.pool)")
        }
    }

    @Test func hashCohortsAreStableAcrossRequestsAndProcessesAndGrowMonotonically() async throws {
        var routes = [
            Route(name: "app", split: [("blue", 100)]),
            Route(name: "api", split: [("blue", 95), ("green", 5)], lines: ["hash_on: \"header:X-User-Id\""]),
        ]
        let rules = ["{ name: api, host: api.example.com, route: api }"]
        let s = try await RoutingRulesBed.start(routes: routes, rules: rules)
        defer { s.bed.tearDown() }
        let ids = (1...200).map { "user-\($0)" }
        func requests(_ times: Int) -> [Request] {
            (0..<times).flatMap { _ in ids.map { Request(host: "api.example.com", "/", ["X-User-Id: \($0)"]) } }
        }
        /// The pools each id reached through `port`, over `times` requests per id.
        func pools(_ times: Int, port: UInt16? = nil) async throws -> [String: Set<String>] {
            let answers = try await s.send(requests(times), port: port)
            var seen: [String: Set<String>] = [:]
            for (request, answer) in zip(requests(times), answers) { seen[String(request.headers[0].dropFirst(11)), default: []].insert(answer.pool) }
            return seen
        }

        let first = try await pools(3)
        let wavering = first.filter { $0.value.count != 1 }
        #expect(wavering.isEmpty, "ids served by more than one pool: \(wavering.prefix(5))")
        let pool = first.compactMapValues { $0.count == 1 ? $0.first : nil }
        #expect(Set(pool.values).isSubset(of: ["blue", "green"]), "\(Set(pool.values))")
        let green = Set(pool.filter { $0.value == "green" }.keys)
        #expect(green.count >= 1 && green.count <= 20, "\(green.count) of 200 ids in green at weight 5")

        // A second process (two workers this time) with the same routes puts every id in the same pool.
        let second = try await s.secondProxy(routes, rules: rules, workers: 2)
        let elsewhere = try await pools(3, port: second.port)
        let disagreeing = ids.filter { elsewhere[$0] != [pool[$0] ?? "?"] }
        #expect(disagreeing.isEmpty, "\(disagreeing.count) ids placed differently by the second process: \(disagreeing.prefix(5).map { "\($0): \(pool[$0] ?? "?") vs \(elsewhere[$0] ?? [])" })")

        // Without the key, the weighted split.
        let keyless = try await s.send((0..<100).map { _ in Request(host: "api.example.com", "/") })
        Self.expectSplit(tally(keyless.map(\.pool)), routes[1].split, "requests without X-User-Id")

        // The canary grows from 5 % to 25 %: every id in green stays there; green takes ~25 %.
        routes[1].split = [("blue", 75), ("green", 25)]
        try await s.reload(s.config(routes, rules: rules))
        let grown = try await pools(1)
        let nowGreen = Set(ids.filter { grown[$0] == ["green"] })
        #expect(green.isSubset(of: nowGreen), "ids that left green: \(green.subtracting(nowGreen).sorted())")
        #expect(nowGreen.count >= 40 && nowGreen.count <= 60, "\(nowGreen.count) of 200 ids in green at weight 25")
        #expect(grown.values.allSatisfy { $0.count == 1 && $0.isSubset(of: ["blue", "green"]) })
    }

    @Test func respondAndRedirectRulesAreAnsweredByTheProxyOnAKeptAliveConnection() async throws {
        let s = try await RoutingRulesBed.start(routes: [Route(name: "app", split: [("app-blue", 100)])], rules: [
            "{ name: health, path: /healthz, respond: 200, body: \"ok\\n\", response_headers: { set: { Cache-Control: no-store } } }",
            "{ name: gone, path_prefix: /old/, respond: 410 }",
            "{ name: moved, host: old.example.net, redirect: \"https://example.com\" }",
            "{ name: found, host: tmp.example.net, redirect: \"https://example.com/new/\", redirect_status: 302 }",
        ])
        defer { s.bed.tearDown() }

        // Raw socket: fixed answers and a proxied request, one after the other on one connection.
        let answers = try await s.send([
            Request(host: "www.example.com", "/healthz"),
            Request(host: "www.example.com", "/old/page"),
            Request(host: "www.example.com", "/healthz?probe=1"),
            Request(host: "www.example.com", "/"),
            Request("HEAD", host: "www.example.com", "/healthz"),
            Request(host: "www.example.com", "/healthz"),
        ])
        #expect(answers.map(\.status) == [200, 410, 200, 200, 200, 200])
        #expect(answers[0].bodyText == "ok\n" && answers[2].bodyText == "ok\n" && answers[5].bodyText == "ok\n")
        #expect(answers[0].header("Content-Type") == "text/plain")
        #expect(answers[0].header("Cache-Control") == "no-store")
        #expect(answers[1].body.isEmpty && answers[1].header("Content-Length") == "0")
        #expect(answers[3].pool == "app-blue" && answers[3].bodyText == "app-blue")
        // HEAD: no body, and a Content-Length, if any, that of the GET (RFC 9110 §8.6).
        #expect(answers[4].body.isEmpty && [nil, "3"].contains(answers[4].header("Content-Length")), "\(answers[4].headers)")
        #expect(!answers.contains { $0.announcesClose }, "\(answers.map(\.headers))")

        // curl: redirects keep path and query, 301 for GET and HEAD, 308 for POST, the configured
        // status when there is one; curl reuses its connection across them.
        let base = "http://127.0.0.1:\(s.port)"
        let format = "%{http_code} %{num_connects} %header{location}\\n"
        let result = try await s.bed.curl([
            "-H", "Host: old.example.net", "-o", "/dev/null", "-w", format, "\(base)/a/b?x=1&y=%20", "--next",
            "-I", "-H", "Host: old.example.net", "-o", "/dev/null", "-w", format, "\(base)/head", "--next",
            "-X", "POST", "-H", "Host: Old.Example.Net:80", "-H", "Content-Length: 0", "-o", "/dev/null", "-w", format, "\(base)/form?step=2", "--next",
            "-H", "Host: tmp.example.net", "-o", "/dev/null", "-w", format, "\(base)/p?q", "--next",
            "-H", "Host: tmp.example.net", "-o", "/dev/null", "-w", format, "\(base)/",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.lines == [
            "301 1 https://example.com/a/b?x=1&y=%20",
            "301 0 https://example.com/head",
            "308 0 https://example.com/form?step=2",
            "302 0 https://example.com/new/p?q",
            "302 0 https://example.com/new/",
        ], "\(result.text)")

        // A POST with a body: 308, and its body never read as a next request (the proxy may close).
        let client = try RawClient(port: s.port)
        try client.send(Request("POST", host: "old.example.net", "/submit", body: "GET /bad HTTP/1.1\r\n\r\n").text)
        let redirected = try await client.readResponse()
        #expect(redirected.status == 308 && redirected.header("Location") == "https://example.com/submit")
        if redirected.announcesClose {
            #expect(try await client.closesWithoutMoreData())
        } else {
            try client.send(Request(host: "www.example.com", "/").text)
            #expect(try await client.readResponse().pool == "app-blue")
        }
        // Only the one proxied request reached a backend.
        #expect(try await s.heads() == ["app-blue": 1 + (redirected.announcesClose ? 0 : 1)])
    }

    @Test func headerEditsApplyBothWays() async throws {
        let s = try await RoutingRulesBed.start(routes: [
            Route(name: "app", split: [("app-blue", 50), ("app-green", 50)], lines: [
                "request_headers: { set: { X-Env: production }, add: { X-Route: \"${route}\", X-Via-Pool: \"${pool}\" }, remove: [X-Debug] }",
                "response_headers: { set: { X-Served-By: \"${pool}\" }, remove: [Server] }",
            ]),
            Route(name: "internal", split: [("internal", 100)], lines: ["request_headers: { add: { X-Cohort: internal } }"]),
        ], rules: ["{ header: { X-Internal-User: \"1\" }, route: internal }"])
        defer { s.bed.tearDown() }
        let path = "/headers?reply=Server:backend.py&reply=X-Kept:yes"
        let sent = ["X-Debug: 1", "x-debug: 2", "X-Env: dev", "X-Keep: me"]
        let answers = try await s.send([
            Request(host: "www.example.com", path, sent),
            Request(host: "www.example.com", path, sent),
            Request(host: "www.example.com", path, ["X-Internal-User: 1", "X-Cohort: external", "X-Debug: 1"]),
        ])
        #expect(answers.map(\.status) == [200, 200, 200])
        #expect(Set(answers[0...1].map(\.pool)) == ["app-blue", "app-green"])
        for answer in answers[0...1] {
            // What the backend received.
            #expect(try answer.echoed("X-Debug") == [], "\(answer.bodyText)")
            #expect(try answer.echoed("X-Env") == ["production"], "\(answer.bodyText)")
            #expect(try answer.echoed("X-Route") == ["app"], "\(answer.bodyText)")
            #expect(try answer.echoed("X-Via-Pool") == [answer.pool], "\(answer.bodyText)")
            #expect(try answer.echoed("X-Keep") == ["me"], "\(answer.bodyText)")
            // What the client received.
            #expect(answer.values("X-Served-By") == [answer.pool], "\(answer.headers)")
            #expect(answer.values("Server") == [], "\(answer.headers)")
            #expect(answer.values("X-Kept") == ["yes"], "\(answer.headers)")
        }
        // The internal route's own edits: an added field joins the client's; app's do not apply.
        let cohort = answers[2]
        #expect(cohort.pool == "internal")
        #expect(try cohort.echoed("X-Cohort") == ["external", "internal"], "\(cohort.bodyText)")
        #expect(try cohort.echoed("X-Debug") == ["1"], "\(cohort.bodyText)")
        #expect(try cohort.echoed("X-Route") == [], "\(cohort.bodyText)")
        #expect(cohort.values("Server") == ["backend.py"], "\(cohort.headers)")
        #expect(cohort.values("X-Served-By") == [], "\(cohort.headers)")
    }

    @Test func pathsAreMatchedAndForwardedInTheirNormalForm() async throws {
        let s = try await RoutingRulesBed.start(
            routes: [Route(name: "app", split: [("app-blue", 100)]), Route(name: "api", split: [("api-blue", 100)])],
            rules: ["{ name: v2, path_prefix: /v2/, route: api }", "{ name: admin, path: /admin, respond: 403 }"])
        defer { s.bed.tearDown() }
        let base = "http://127.0.0.1:\(s.port)"
        // (path as sent, status, pool, target the backend received)
        let cases: [(path: String, status: Int, pool: String, target: String)] = [
            ("/x/../v2/%61b", 404, "api-blue", "/v2/ab"),
            ("/x/./../v2/%61b?q=%61&r=/../", 404, "api-blue", "/v2/ab?q=%61&r=/../"),
            ("/v2%2Fab", 404, "app-blue", "/v2%2Fab"),
            ("/v2/a%2F..%2F..%2Fadmin", 404, "api-blue", "/v2/a%2F..%2F..%2Fadmin"),
            ("/v2/../admin", 403, "proxy 403", ""),
            ("/%61dmin", 403, "proxy 403", ""),
            ("/admin/", 404, "app-blue", "/admin/"),
            ("/v20/x", 404, "app-blue", "/v20/x"),
        ]
        var arguments = ["--path-as-is", "-w", "%{http_code} %header{x-backend} %header{x-target}\\n"]
        arguments += cases.flatMap { [base + $0.path, "-o", "/dev/null"] }
        let result = try await s.bed.curl(arguments)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = result.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (i, c) in cases.enumerated() {
            let expected = "\(c.status) \(c.pool.hasPrefix("proxy") ? "" : c.pool) \(c.target)"
            #expect(i < lines.count && lines[i] == expected, "\(c.path): expected '\(expected)', got '\(i < lines.count ? lines[i] : "nothing")'")
        }
    }

    @Test func statusAndMetricsNameTheRulesAndCountTheirHits() async throws {
        let s = try await RoutingRulesBed.start(
            routes: [Route(name: "app", split: [("app-blue", 100)]), Route(name: "api", split: [("api-blue", 100)])],
            rules: ["{ name: api, host: api.example.com, route: api }", "{ path: /healthz, respond: 200 }"])
        defer { s.bed.tearDown() }
        let answers = try await s.send(
            Array(repeating: Request(host: "api.example.com", "/"), count: 3)
                + Array(repeating: Request(host: "www.example.com", "/healthz"), count: 2)
                + [Request(host: "www.example.com", "/")])
        #expect(answers.map(\.pool) == ["api-blue", "api-blue", "api-blue", "proxy 200", "proxy 200", "app-blue"])

        var rules: [[String: Any]] = []
        try await waitUntil("/status counts the rules' hits") {
            let listeners = try await s.status()["listeners"] as? [[String: Any]]
            rules = listeners?.first?["rules"] as? [[String: Any]] ?? []
            return rules.compactMap { $0["hits"] as? Int } == [3, 2]
        }
        #expect(rules.map { $0["name"] as? String } == ["api", "rule2"])
        #expect(rules.map { $0["route"] as? String } == ["api", nil])
        let matches = rules.map { $0["match"] as? String ?? "" }
        #expect(matches[0].contains("host api.example.com") && matches[0].contains("route api"), "\(matches)")
        #expect(matches[1].contains("path /healthz") && matches[1].contains("respond 200"), "\(matches)")

        let metrics = try await MetricsScrape.fetch(adminPort: s.adminPort, in: s.bed.directory)
        #expect(metrics.value("cutover_rule_hits_total", ["listener": "web", "rule": "api"]) == 3, "\(metrics.text)")
        #expect(metrics.value("cutover_rule_hits_total", ["listener": "web", "rule": "rule2"]) == 2, "\(metrics.text)")
        // A request is counted under the route its rule chose.
        #expect(metrics.sum("cutover_requests_total", ["route": "api"]) == 3)
        #expect(metrics.sum("cutover_requests_total", ["route": "app"]) == 1)
    }

    /// A config file for `cutover check` with these rules; the backends need not exist.
    static func checkFile(_ bed: TestBed, rules: [String], routeLines: [String] = []) throws -> (file: String, text: String) {
        var listener = ProxyConfig.Listener(name: "web", port: 18080, route: "app")
        listener.lines = ["rules:"] + rules.map { "  - " + $0 }
        let config = ProxyConfig(listeners: [listener], routes: [("app", [("blue", 100)]), ("api", [("blue", 100)])],
                                 pools: [ProxyConfig.Pool(name: "blue", backends: [(18081, 1)])])
            .adding(route: "api", lines: routeLines)
        let file = bed.directory.appendingPathComponent("check-\(UUID().uuidString.prefix(8)).yaml")
        try config.yaml.write(to: file, atomically: true, encoding: .utf8)
        return (file.path, config.yaml)
    }

    /// `LINE:COLUMN` (1-based) of the first occurrence of `needle` in `text`.
    static func position(of needle: String, in text: String) throws -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = try #require(lines.firstIndex { $0.contains(needle) }, "\(needle) not in the file")
        let column = lines[line].distance(from: lines[line].startIndex, to: lines[line].range(of: needle)!.lowerBound)
        return "\(line + 1):\(column + 1)"
    }

    @Test func checkPrintsTheRulesWarnsOfShadowedOnesAndLocatesErrors() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }

        // A rule an earlier wildcard shadows: a warning on stderr, exit 0.
        let shadowed = try Self.checkFile(bed, rules: [
            "{ host: \"*.example.com\", route: app }",
            "{ name: old, host: old.example.com, route: api }",
            "{ name: health, path: /healthz, respond: 200 }",
        ])
        let warned = try await CutoverBinary.run(["check", "-c", shadowed.file], in: bed.directory)
        #expect(warned.status == 0, "\(warned)")
        let at = try Self.position(of: "{ name: old", in: shadowed.text)
        #expect(warned.stderr.contains("\(shadowed.file):\(at): warning: rule 'old' of listener 'web' is never reached: rule 'rule1'"),
                "\(warned.stderr)")
        #expect(!warned.stderr.contains("'health'"), "\(warned.stderr)")
        #expect(!warned.stdout.contains("warning"), "\(warned.stdout)")
        #expect(warned.stdout.contains("rule rule1: host *.example.com -> route app"), "\(warned.stdout)")
        #expect(warned.stdout.contains("rule old: host old.example.com -> route api"), "\(warned.stdout)")
        #expect(warned.stdout.contains("rule health: path /healthz -> respond 200"), "\(warned.stdout)")
        #expect(warned.stdout.contains("\(shadowed.file): OK"), "\(warned.stdout)")

        // A rule naming a route that does not exist: FILE:LINE:COLUMN at the name, exit 1.
        let unknown = try Self.checkFile(bed, rules: ["{ name: api, host: api.example.com, route: apii }"])
        let failed = try await CutoverBinary.run(["check", "-c", unknown.file], in: bed.directory)
        #expect(failed.status == 1, "\(failed)")
        let routeAt = try Self.position(of: "apii", in: unknown.text)
        #expect(failed.stderr.contains("\(unknown.file):\(routeAt): route 'apii' is not defined in 'routes'"), "\(failed.stderr)")
        #expect(!failed.stdout.contains("OK"), "\(failed.stdout)")

        // A header edit on a field the proxy owns: refused at the name.
        let reserved = try Self.checkFile(bed, rules: ["{ host: api.example.com, route: api }"],
                                          routeLines: ["request_headers: { set: { Host: internal.example.com } }"])
        let refused = try await CutoverBinary.run(["check", "-c", reserved.file], in: bed.directory)
        #expect(refused.status == 1, "\(refused)")
        let hostAt = try Self.position(of: "Host: internal", in: reserved.text)
        #expect(refused.stderr.contains("\(reserved.file):\(hostAt): "), "\(refused.stderr)")
        #expect(refused.stderr.contains("'Host' is managed by the proxy"), "\(refused.stderr)")
    }
}

import Config
import Testing

/// `listeners[].rules`, and the routes' `hash_on`, `request_headers` and `response_headers`.
///
/// `config(rules:)` puts the rules under listener `web` from line 6 on, each line indented by 6
/// more columns than written in the test; `config(route:)` puts lines into route `app` from
/// line 8 on, indented by 4.
@Suite struct RuleSectionTests {
    static let routesAndPools = """
        routes:
          app:
            pools: { blue: 100 }
          api-v2:
            pools: { green: 100 }
          app-internal:
            pools: { green: 100 }
        pools:
          blue:
            backends:
              - address: 127.0.0.1:9001
          green:
            backends:
              - address: 127.0.0.1:9101

        """

    static func config(rules: String) -> String {
        let indented = rules.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : "      " + $0 }.joined(separator: "\n")
        return """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                route: app
                rules:

            """ + indented + "\n" + routesAndPools
    }

    static func config(route: String) -> String {
        let indented = route.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n")
        return """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                route: app
            routes:
              app:
                pools: { blue: 95, green: 5 }

            """ + indented + "\n" + """
            pools:
              blue:
                backends:
                  - address: 127.0.0.1:9001
              green:
                backends:
                  - address: 127.0.0.1:9101

            """
    }

    /// Asserts that `yaml` is rejected with exactly `test.yaml:line:column: message`.
    private func expectExactError(_ yaml: String, line: Int, column: Int, _ message: String,
                                  sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        do {
            let config = try ConfigLoader.parse(yaml: yaml, file: testFile)
            Issue.record("expected \"\(message)\", but parsed \(config.listeners.map(\.rules))", sourceLocation: sourceLocation)
        } catch {
            #expect(error.description == "\(testFile):\(line):\(column): \(message)", sourceLocation: sourceLocation)
        }
    }

    private func location(_ line: Int, _ column: Int) -> Config.SourceLocation {
        Config.SourceLocation(file: testFile, line: line, column: column)
    }

    // MARK: a full valid example

    static let fullExample = """
        listeners:
          - name: web
            listen: 0.0.0.0:8080
            route: app                      # default
            rules:
              - { host: api.example.com, path_prefix: /v2/, route: api-v2 }
              - { host: "*.example.com", route: app }
              - { header: { X-Internal-User: "1" }, route: app-internal }   # e.g. pools { green: 100 }
              - { cookie: { beta: "yes" }, route: app-internal }
              - { path: /healthz, respond: 200 }                           # answered by the proxy
              - { host: old.example.com, redirect: "https://example.com" } # 301/308, path and query kept
              - name: maintenance
                host: Status.Example.ORG.
                path: /maintenance
                respond: 503
                body: "back soon"
                response_headers:
                  set: { Retry-After: "120" }
              - name: moved
                path_prefix: /old/
                redirect: https://new.example.com/
                redirect_status: 308
                request_headers:
                  remove: [X-Debug]
        routes:
          app:
            pools: { blue: 95, green: 5 }
            hash_on: header:X-User-Id
            request_headers:
              set: { X-Route: "${route}" }
              add: { X-Via: cutover }
              remove: [X-Debug, Cookie2]
            response_headers:
              set: { Strict-Transport-Security: "max-age=63072000" }
              add: { X-Served-By: "${pool}" }
              remove: [Server]
          api-v2:
            pools: { green: 100 }
            hash_on: cookie:uid
          app-internal:
            pools: { green: 100 }
            hash_on: client_address
        pools:
          blue:
            backends:
              - address: 127.0.0.1:9001
          green:
            backends:
              - address: 127.0.0.1:9101
        """

    @Test func fullExampleGivesTheRules() throws {
        let config = try #require(parseValid(Self.fullExample))
        let listener = try #require(config.listeners.first)
        #expect(listener.route == "app")
        let rules = listener.rules
        try #require(rules.count == 8)
        #expect(rules.map(\.name) == ["rule1", "rule2", "rule3", "rule4", "rule5", "rule6", "maintenance", "moved"])
        #expect(rules.map(\.location) == [location(6, 9), location(7, 9), location(8, 9), location(9, 9),
                                          location(10, 9), location(11, 9), location(12, 9), location(19, 9)])

        #expect(rules[0].host == "api.example.com")
        #expect(rules[0].pathPrefix == "/v2/")
        #expect(rules[0].path == nil)
        #expect(rules[0].action == .route("api-v2"))
        #expect(rules[0].matchesPath)

        #expect(rules[1].host == "*.example.com")
        #expect(rules[1].action == .route("app"))
        #expect(!rules[1].matchesPath)

        #expect(rules[2].headers == [FieldMatchConfig(name: "X-Internal-User", value: "1")])
        #expect(rules[2].host == nil)
        #expect(rules[2].action == .route("app-internal"))

        #expect(rules[3].cookies == [FieldMatchConfig(name: "beta", value: "yes")])
        #expect(rules[3].headers.isEmpty)

        #expect(rules[4].path == "/healthz")
        #expect(rules[4].action == .respond(status: 200, body: ""))

        #expect(rules[5].host == "old.example.com")
        #expect(rules[5].action == .redirect(to: "https://example.com", status: nil))

        #expect(rules[6].host == "status.example.org")  // lower-cased, trailing dot dropped
        #expect(rules[6].path == "/maintenance")
        #expect(rules[6].action == .respond(status: 503, body: "back soon"))
        #expect(rules[6].responseHeaders == HeaderEditsConfig(replacing: [HeaderLineConfig(name: "Retry-After", value: "120")]))
        #expect(rules[6].requestHeaders.isEmpty)

        #expect(rules[7].pathPrefix == "/old/")
        #expect(rules[7].action == .redirect(to: "https://new.example.com", status: 308))
        #expect(rules[7].requestHeaders == HeaderEditsConfig(removing: ["X-Debug"]))

        #expect(rules.allSatisfy { !$0.isCatchAll })
        // The issue's own example shadows its redirect: every old.example.com request is taken by
        // "*.example.com" first.
        #expect(config.warnings == [ConfigWarning(location(11, 9),
            "rule 'rule6' of listener 'web' is never reached: rule 'rule2' (line 7) matches every request it would")])

        let app = try #require(config.route(named: "app"))
        #expect(app.hashOn == .header("X-User-Id"))
        #expect(app.hashOn?.description == "header:X-User-Id")
        #expect(app.requestHeaders == HeaderEditsConfig(
            replacing: [HeaderLineConfig(name: "X-Route", value: "${route}")],
            adding: [HeaderLineConfig(name: "X-Via", value: "cutover")],
            removing: ["X-Debug", "Cookie2"]))
        #expect(app.responseHeaders == HeaderEditsConfig(
            replacing: [HeaderLineConfig(name: "Strict-Transport-Security", value: "max-age=63072000")],
            adding: [HeaderLineConfig(name: "X-Served-By", value: "${pool}")],
            removing: ["Server"]))
        #expect(config.route(named: "api-v2")?.hashOn == .cookie("uid"))
        #expect(config.route(named: "app-internal")?.hashOn == .clientAddress)
        #expect(config.route(named: "api-v2")?.requestHeaders.isEmpty == true)
    }

    @Test func noRulesAndAnEmptyListAreTheSame() throws {
        let none = try #require(parseValid(minimalConfig))
        #expect(none.listeners[0].rules.isEmpty)
        #expect(none.route(named: "app")?.hashOn == nil)
        let empty = try #require(parseValid(Self.config(rules: "[]")))
        #expect(empty.listeners[0].rules.isEmpty)
    }

    // MARK: names

    @Test func defaultNamesFollowThePosition() throws {
        let config = try #require(parseValid(Self.config(rules: """
            - { host: a.example.com, route: app }
            - { name: api, host: b.example.com, route: api-v2 }
            - { host: c.example.com, route: app }
            """)))
        #expect(config.listeners[0].rules.map(\.name) == ["rule1", "api", "rule3"])
    }

    @Test func ruleNamesAreUnique() {
        expectExactError(Self.config(rules: """
            - { name: api, host: a.example.com, route: app }
            - { name: api, host: b.example.com, route: app }
            """), line: 7, column: 9, "duplicate rule name 'api' (first used on line 6)")
        // A name that takes a later rule's default is a duplicate too.
        expectExactError(Self.config(rules: """
            - { name: rule2, host: a.example.com, route: app }
            - { host: b.example.com, route: app }
            """), line: 7, column: 9, "duplicate rule name 'rule2' (first used on line 6)")
    }

    @Test func unknownKeyInARule() {
        expectExactError(Self.config(rules: "- { hostt: a.example.com, route: app }"), line: 6, column: 11,
                         "unknown key 'hostt' in listeners[0].rules[0] (did you mean 'host'?)")
    }

    // MARK: actions

    @Test func aRuleNeedsAnAction() {
        expectExactError(Self.config(rules: """
            - { host: a.example.com, route: app }
            - { host: b.example.com }
            """), line: 7, column: 9,
            "invalid 'listeners[0].rules[1]': a rule needs exactly one of 'route', 'respond' or 'redirect' (found none)")
    }

    @Test func aRuleHasOnlyOneAction() {
        expectExactError(Self.config(rules: "- { host: a.example.com, route: app, redirect: /x }"), line: 6, column: 9,
            "invalid 'listeners[0].rules[0]': a rule needs exactly one of 'route', 'respond' or 'redirect' (found route and redirect)")
        expectExactError(Self.config(rules: """
            - host: a.example.com
              respond: 200
              route: app
            """), line: 6, column: 9,
            "invalid 'listeners[0].rules[0]': a rule needs exactly one of 'route', 'respond' or 'redirect' (found route and respond)")
    }

    @Test func aRuleRoutesToADefinedRoute() {
        expectExactError(Self.config(rules: "- { host: a.example.com, route: api-v3 }"), line: 6, column: 39,
                         "route 'api-v3' is not defined in 'routes' (did you mean 'api-v2'?)")
    }

    @Test func respondStatusAndBody() {
        expectExactError(Self.config(rules: "- { path: /x, respond: 99 }"), line: 6, column: 30,
                         "invalid 'listeners[0].rules[0].respond': must be between 200 and 599, found 99")
        expectExactError(Self.config(rules: "- { host: a.example.com, route: app, body: hi }"), line: 6, column: 50,
                         "invalid 'listeners[0].rules[0].body': 'body' goes with 'respond'")
        expectExactError(Self.config(rules: "- { path: /x, redirect: /y, body: hi }"), line: 6, column: 41,
                         "invalid 'listeners[0].rules[0].body': 'body' goes with 'respond'")
    }

    @Test func redirectTargets() throws {
        let config = try #require(parseValid(Self.config(rules: """
            - { host: a.example.com, redirect: "HTTP://b.example.com:8443/base/" }
            - { host: c.example.com, redirect: /new/ }
            - { host: d.example.com, redirect: / }
            - { host: e.example.com, redirect: /x, redirect_status: 302 }
            """)))
        #expect(config.listeners[0].rules.map(\.action) == [
            .redirect(to: "HTTP://b.example.com:8443/base", status: nil),
            .redirect(to: "/new", status: nil),
            .redirect(to: "", status: nil),
            .redirect(to: "/x", status: 302),
        ])
    }

    @Test(arguments: ["example.com", "ftp://example.com", "new/path"])
    func redirectNeedsASchemeOrAPath(target: String) {
        expectExactError(Self.config(rules: "- { host: a.example.com, redirect: \"\(target)\" }"), line: 6, column: 42,
                         "invalid 'listeners[0].rules[0].redirect': expected an absolute URL (https://example.com) or a path from '/'")
    }

    /// `//host/x` is a network-path reference, not "a path from '/'": a browser would leave for
    /// `host`.
    @Test func redirectToANetworkPathIsRefused() {
        expectExactError(Self.config(rules: "- { host: a.example.com, redirect: \"//evil.example/x\" }"), line: 6, column: 42,
                         "invalid 'listeners[0].rules[0].redirect': '//evil.example/x' is a reference to another host; write it as https://HOST/…")
    }

    /// An absolute URL names a host: `https:///x` has none (and browsers would read it as
    /// `https://x/`).
    @Test(arguments: ["https:///x", "http:///", "https://"])
    func redirectURLNeedsAHost(target: String) {
        expectError(Self.config(rules: "- { host: a.example.com, redirect: \"\(target)\" }"), line: 6, column: 42,
                    "invalid 'listeners[0].rules[0].redirect': ")
    }

    @Test(arguments: ["https://example.com/?a=1", "/x#frag", "https://exa mple.com"])
    func redirectHasNoQueryOrFragment(target: String) {
        expectExactError(Self.config(rules: "- { host: a.example.com, redirect: \"\(target)\" }"), line: 6, column: 42,
                         "invalid 'listeners[0].rules[0].redirect': '\(target)' is not a URL to redirect to (no query, fragment or spaces: the request's path and query are appended)")
    }

    @Test func redirectStatusIsARedirect() {
        expectExactError(Self.config(rules: "- { host: a.example.com, redirect: /x, redirect_status: 300 }"), line: 6, column: 63,
                         "invalid 'listeners[0].rules[0].redirect_status': expected one of 301, 302, 303, 307 or 308")
        expectExactError(Self.config(rules: "- { host: a.example.com, redirect: /x, redirect_status: 200 }"), line: 6, column: 63,
                         "invalid 'listeners[0].rules[0].redirect_status': must be between 300 and 399, found 200")
        expectExactError(Self.config(rules: "- { host: a.example.com, route: app, redirect_status: 301 }"), line: 6, column: 61,
                         "invalid 'listeners[0].rules[0].redirect_status': 'redirect_status' goes with 'redirect'")
    }

    // MARK: conditions

    @Test func pathOrPathPrefixNotBoth() {
        expectExactError(Self.config(rules: "- { path: /a, path_prefix: /b, route: app }"), line: 6, column: 34,
                         "invalid 'listeners[0].rules[0]': use 'path' or 'path_prefix', not both")
    }

    @Test(arguments: [
        ("/a/../b", "/b"),
        ("/a/./b", "/a/b"),
        ("/%7Euser", "/~user"),
        ("/a%2fb", "/a%2Fb"),
        ("/static/..", "/"),
    ])
    func pathsAreWrittenInNormalForm(written: String, normal: String) {
        expectExactError(Self.config(rules: "- { path: \(written), route: app }"), line: 6, column: 17,
                         "invalid 'listeners[0].rules[0].path': requests are matched on their normalised path; write '\(normal)'")
        expectExactError(Self.config(rules: "- { path_prefix: \(written), route: app }"), line: 6, column: 24,
                         "invalid 'listeners[0].rules[0].path_prefix': requests are matched on their normalised path; write '\(normal)'")
    }

    @Test func pathsStartWithASlashAndHoldNoQuery() {
        expectExactError(Self.config(rules: "- { path: healthz, route: app }"), line: 6, column: 17,
                         "invalid 'listeners[0].rules[0].path': a path starts with '/'")
        expectExactError(Self.config(rules: "- { path: \"/a?b\", route: app }"), line: 6, column: 17,
                         "invalid 'listeners[0].rules[0].path': a path has no spaces, '?', '#' or non-ASCII bytes (percent-encode them)")
        expectExactError(Self.config(rules: "- { path: /café, route: app }"), line: 6, column: 17,
                         "invalid 'listeners[0].rules[0].path': a path has no spaces, '?', '#' or non-ASCII bytes (percent-encode them)")
    }

    @Test func pathsInNormalFormAreKept() throws {
        let config = try #require(parseValid(Self.config(rules: """
            - { path: "/a%2Fb", route: app }
            - { path_prefix: /, route: app }
            - { path_prefix: /.well-known/, route: app }
            """)))
        #expect(config.listeners[0].rules.map(\.path) == ["/a%2Fb", nil, nil])
        #expect(config.listeners[0].rules.map(\.pathPrefix) == [nil, "/", "/.well-known/"])
    }

    @Test func hostsAreLowerCasedASCII() throws {
        let config = try #require(parseValid(Self.config(rules: """
            - { host: API.Example.COM., route: app }
            - { host: "*.Example.com", route: app }
            - { host: xn--bcher-kva.example, route: app }
            - { host: 10.0.0.1, route: app }
            """)))
        #expect(config.listeners[0].rules.map(\.host) == ["api.example.com", "*.example.com", "xn--bcher-kva.example", "10.0.0.1"])
    }

    @Test func aNonASCIIHostAsksForPunycode() {
        expectExactError(Self.config(rules: "- { host: bücher.example, route: app }"), line: 6, column: 17,
                         "invalid 'listeners[0].rules[0].host': write an internationalised name in its punycode form (xn--…), as clients send it")
    }

    @Test(arguments: [
        ("a_b.example.com", "a_b.example.com"),
        ("a..example.com", "a..example.com"),
        ("-a.example.com", "-a.example.com"),
        ("a-.example.com", "a-.example.com"),
        ("a.*.example.com", "a.*.example.com"),
        ("**.example.com", "**.example.com"),
        ("api.example.com:8080", "api.example.com:8080"),
        ("*", "*"),
        ("*.", "*"),
        ("a b.com", "a b.com"),
        ("[::1]", "[::1]"),
    ])
    func invalidHosts(written: String, shown: String) {
        expectExactError(Self.config(rules: "- { host: \"\(written)\", route: app }"), line: 6, column: 17,
                         "invalid 'listeners[0].rules[0].host': '\(shown)' is not a host name (or '*.' and one)")
    }

    @Test func aLabelIsAtMost63Characters() throws {
        let label63 = String(repeating: "a", count: 63)
        #expect(parseValid(Self.config(rules: "- { host: \(label63).example, route: app }")) != nil)
        expectExactError(Self.config(rules: "- { host: \(label63)a.example, route: app }"), line: 6, column: 17,
                         "invalid 'listeners[0].rules[0].host': '\(label63)a.example' is not a host name (or '*.' and one)")
    }

    @Test func trueMeansPresenceButQuotedTrueIsAValue() throws {
        let config = try #require(parseValid(Self.config(rules: """
            - header: { X-Internal-User: true, X-Beta: "true", X-Mode: 'true', X-Num: 1, X-Flag: yes }
              cookie: { beta: true, mode: "true" }
              route: app-internal
            """)))
        let rule = config.listeners[0].rules[0]
        #expect(rule.headers == [
            FieldMatchConfig(name: "X-Internal-User", value: nil),
            FieldMatchConfig(name: "X-Beta", value: "true"),
            FieldMatchConfig(name: "X-Mode", value: "true"),
            FieldMatchConfig(name: "X-Num", value: "1"),
            FieldMatchConfig(name: "X-Flag", value: "yes"),
        ])
        #expect(rule.cookies == [FieldMatchConfig(name: "beta", value: nil), FieldMatchConfig(name: "mode", value: "true")])
        #expect(!rule.isCatchAll)
    }

    @Test func headerConditionsAreChecked() {
        expectExactError(Self.config(rules: "- { header: {}, route: app }"), line: 6, column: 19,
                         "invalid 'listeners[0].rules[0].header': must not be empty")
        expectExactError(Self.config(rules: "- { header: { \"X A\": 1 }, route: app }"), line: 6, column: 21,
                         "invalid 'listeners[0].rules[0].header': 'X A' is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)")
        expectExactError(Self.config(rules: "- { header: { X-A: \"a\\nb\" }, route: app }"), line: 6, column: 26,
                         "invalid 'listeners[0].rules[0].header.X-A': a value cannot hold line breaks or control characters")
        expectExactError(Self.config(rules: "- { cookie: { beta: [1] }, route: app }"), line: 6, column: 27,
                         "invalid 'listeners[0].rules[0].cookie.beta': expected a value, or true for presence, found a list")
    }

    @Test func rulesNeedAnHTTPListener() {
        let yaml = """
            listeners:
              - name: db
                listen: 127.0.0.1:5432
                protocol: tcp
                route: app
                rules:
                  - { route: app }

            """ + Self.routesAndPools
        expectExactError(yaml, line: 7, column: 7,
                         "invalid 'listeners[0].rules': rules read HTTP requests; a 'tcp' listener has none")
    }

    // MARK: warnings

    @Test func rulesAfterACatchAllAreWarnedAbout() throws {
        let config = try #require(parseValid(Self.config(rules: """
            - { host: a.example.com, route: app }
            - { name: everything, route: app-internal }
            - { path: /x, route: app }
            - { respond: 404 }
            """)))
        #expect(config.listeners[0].rules.map(\.isCatchAll) == [false, true, false, true])
        #expect(config.warnings == [
            ConfigWarning(location(8, 9), "rule 'rule3' of listener 'web' is never reached: rule 'everything' (line 7) matches every request it would"),
            ConfigWarning(location(9, 9), "rule 'rule4' of listener 'web' is never reached: rule 'everything' (line 7) matches every request it would"),
        ])
        #expect(config.warnings.first?.description
                == "test.yaml:8:9: warning: rule 'rule3' of listener 'web' is never reached: rule 'everything' (line 7) matches every request it would")
    }

    @Test func rulesShadowedByABroaderOneAreWarnedAbout() throws {
        let config = try #require(parseValid(Self.config(rules: """
            - { host: "*.example.com", route: app }
            - { host: Old.Example.com, redirect: "https://example.com" }
            - { path_prefix: /api, route: api-v2 }
            - { path_prefix: /api/v2/, route: app }
            - { path: /api, route: app }
            - { header: { X-Beta: true }, route: app-internal }
            - { header: { x-beta: "1" }, cookie: { a: b }, route: app }
            """)))
        #expect(config.warnings.map(\.location) == [location(7, 9), location(9, 9), location(10, 9), location(12, 9)])
        #expect(config.warnings.map { String($0.message.prefix(13)) } == ["rule 'rule2' ", "rule 'rule4' ", "rule 'rule5' ", "rule 'rule7' "])
        #expect(config.warnings.first?.message.hasSuffix("rule 'rule1' (line 6) matches every request it would") == true)
        #expect(config.warnings.dropFirst().first?.message.hasSuffix("rule 'rule3' (line 8) matches every request it would") == true)
        #expect(config.warnings.last?.message.hasSuffix("rule 'rule6' (line 11) matches every request it would") == true)
    }

    @Test func narrowerEarlierRulesShadowNothing() throws {
        let config = try #require(parseValid(Self.config(rules: """
            - { host: a.example.com, path_prefix: /x, route: app }
            - { host: a.example.com, route: api-v2 }
            - { host: "*.example.com", route: app }
            - { host: "*.b.example.com", route: app }
            - { host: example.com, route: app }
            - { path_prefix: /api/v2, route: app }
            - { path_prefix: /api, route: app }
            - { path_prefix: /apix, route: app }
            - { header: { X-Beta: "1" }, route: app }
            - { header: { X-Beta: true }, route: app }
            - { path: /healthz, route: app }
            - { path_prefix: /healthz/, route: app }
            """)))
        #expect(config.warnings.isEmpty, "\(config.warnings)")
    }

    @Test func aCatchAllWithEditsIsStillACatchAll() throws {
        let config = try #require(parseValid(Self.config(rules: """
            - { route: app, request_headers: { set: { X-A: b } } }
            - { host: a.example.com, route: api-v2 }
            """)))
        #expect(config.warnings.map(\.location) == [location(7, 9)])
        #expect(config.warnings.first?.message.contains("rule 'rule2'") == true)
        #expect(config.warnings.first?.message.contains("rule 'rule1' (line 6)") == true)
    }

    @Test func aCatchAllLastWarnsAboutNothing() throws {
        let config = try #require(parseValid(Self.config(rules: """
            - { host: a.example.com, route: api-v2 }
            - { respond: 404, body: "no such service" }
            """)))
        #expect(config.warnings.isEmpty)
        #expect(config.listeners[0].rules[1].action == .respond(status: 404, body: "no such service"))
    }

    // MARK: hash_on

    @Test(arguments: [
        ("header:X-User-Id", HashOnConfig.header("X-User-Id")),
        ("cookie:uid", .cookie("uid")),
        ("client_address", .clientAddress),
    ])
    func hashOnKeys(written: String, expected: HashOnConfig) throws {
        let config = try #require(parseValid(Self.config(route: "hash_on: \"\(written)\"")))
        #expect(config.route(named: "app")?.hashOn == expected)
        #expect(expected.description == written)
    }

    @Test(arguments: ["header:", "cookie:", "header", "header:X User", "Header:X-User-Id", "ip", "query:id", ":X"])
    func hashOnNeedsAKind(written: String) {
        expectExactError(Self.config(route: "hash_on: \"\(written)\""), line: 8, column: 14,
                         "invalid 'routes.app.hash_on': expected header:NAME, cookie:NAME or client_address, found '\(written)'")
    }

    @Test func hashOnOrStickyNotBoth() {
        expectExactError(Self.config(route: """
            sticky: { cookie: cutover_pool }
            hash_on: cookie:uid
            """), line: 9, column: 14,
            "invalid 'routes.app.hash_on': a route keeps clients by 'sticky' or by 'hash_on', not both")
        expectExactError(Self.config(route: """
            hash_on: cookie:uid
            sticky: { cookie: cutover_pool }
            """), line: 8, column: 14,
            "invalid 'routes.app.hash_on': a route keeps clients by 'sticky' or by 'hash_on', not both")
    }

    // MARK: header edits

    @Test(arguments: ["Content-Length", "content-length", "Host", "Connection", "Transfer-Encoding", "Upgrade", "TE",
                      "Keep-Alive", "X-Forwarded-For", "X-Forwarded-Proto"])
    func requestEditsLeaveTheProxysFieldsAlone(field: String) {
        expectExactError(Self.config(route: """
            request_headers:
              set: { \(field): x }
            """), line: 9, column: 14,
            "invalid 'routes.app.request_headers.set': '\(field)' is managed by the proxy and cannot be edited")
    }

    @Test func reservedFieldsInEveryEditKind() {
        expectExactError(Self.config(route: """
            request_headers:
              remove: [X-Debug, Host]
            """), line: 9, column: 25,
            "invalid 'routes.app.request_headers.remove[1]': 'Host' is managed by the proxy and cannot be edited")
        expectExactError(Self.config(route: """
            response_headers:
              add: { connection: close }
            """), line: 9, column: 14,
            "invalid 'routes.app.response_headers.add': 'connection' is managed by the proxy and cannot be edited")
        expectExactError(Self.config(route: """
            response_headers:
              set: { Content-Length: "0" }
            """), line: 9, column: 14,
            "invalid 'routes.app.response_headers.set': 'Content-Length' is managed by the proxy and cannot be edited")
        expectExactError(Self.config(rules: """
            - host: a.example.com
              route: app
              request_headers:
                add: { Transfer-Encoding: chunked }
            """), line: 9, column: 18,
            "invalid 'listeners[0].rules[0].request_headers.add': 'Transfer-Encoding' is managed by the proxy and cannot be edited")
    }

    @Test func requestOnlyReservationsDoNotApplyToResponses() throws {
        let config = try #require(parseValid(Self.config(route: """
            response_headers:
              set: { X-Forwarded-For: none, Server: cutover }
            """)))
        #expect(config.route(named: "app")?.responseHeaders.replacing.map(\.name) == ["X-Forwarded-For", "Server"])
    }

    @Test(arguments: ["a\\x01b", "a\\nb", "a\\rb", "\\x7F", "a\\x00"])
    func headerValuesHoldNoControlCharacters(escaped: String) {
        expectExactError(Self.config(route: """
            request_headers:
              set: { X-A: "\(escaped)" }
            """), line: 9, column: 19,
            "invalid 'routes.app.request_headers.set.X-A': a header value cannot hold line breaks or control characters")
    }

    @Test func aTabInAHeaderValueIsFine() throws {
        let config = try #require(parseValid(Self.config(route: """
            response_headers:
              add: { X-A: "a\\tb" }
            """)))
        #expect(config.route(named: "app")?.responseHeaders.adding == [HeaderLineConfig(name: "X-A", value: "a\tb")])
    }

    @Test func headerEditsAreChecked() {
        expectExactError(Self.config(route: """
            request_headers:
              remove: []
            """), line: 9, column: 15, "invalid 'routes.app.request_headers.remove': must not be empty")
        expectExactError(Self.config(route: """
            request_headers:
              removes: [X-A]
            """), line: 9, column: 7,
            "unknown key 'removes' in routes.app.request_headers (did you mean 'remove'?)")
        expectExactError(Self.config(route: """
            response_headers:
              set: { "X A": b }
            """), line: 9, column: 14,
            "invalid 'routes.app.response_headers.set': 'X A' is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)")
    }
}

import Config
import Testing

/// `routes:` rules. Every literal starts with the same 4-line listener, so `routes:` is line 5.
@Suite struct RouteTests {
    static let listener = """
        listeners:
          - name: web
            listen: 127.0.0.1:8080
            route: app

        """
    /// Two pools, `blue` and `green`; appended after the route under test.
    static let pools = """
        pools:
          blue:
            backends:
              - address: 127.0.0.1:9001
          green:
            backends:
              - address: 127.0.0.1:9101
        """

    @Test func splitKeepsFileOrderAndDefaultsApply() throws {
        let yaml = Self.listener + """
            routes:
              app:
                pools: { green: 1, blue: 3 }
              unused:
                pools: { blue: 1 }

            """ + Self.pools
        let config = try #require(parseValid(yaml))
        let route = try #require(config.route(named: "app"))
        #expect(route.pools.map(\.name) == ["green", "blue"])
        #expect(route.pools.map(\.weight) == [1, 3])
        #expect(route.ramp == .seconds(0))
        #expect(route.sticky == nil)
        #expect(route.override == nil)
        #expect(route.location == Config.SourceLocation(file: testFile, line: 6, column: 3))
        #expect(config.routes.map(\.name) == ["app", "unused"])
    }

    @Test func routesMustNotBeEmpty() {
        expectError(Self.listener + "routes: {}\n" + Self.pools, line: 5, column: 9, "invalid 'routes': must not be empty")
    }

    @Test func splitNeedsAPositiveWeight() {
        let yaml = Self.listener + """
            routes:
              app:
                pools: { blue: 0, green: 0 }

            """ + Self.pools
        expectError(yaml, line: 7, column: 12, "invalid 'routes.app.pools': the weights add up to 0")
    }

    @Test func splitWeightsAreNonNegativeIntegers() {
        let yaml = Self.listener + """
            routes:
              app:
                pools: { blue: -1, green: 1 }

            """ + Self.pools
        expectError(yaml, line: 7, column: 20, "invalid 'routes.app.pools.blue': must be between 0 and 1000000, found -1")
        let percent = Self.listener + """
            routes:
              app:
                pools: { blue: 50%, green: 1 }

            """ + Self.pools
        expectError(percent, line: 7, column: 20, "invalid 'routes.app.pools.blue': expected an integer, found '50%'")
    }

    @Test func splitMustNameDefinedPools() {
        let yaml = Self.listener + """
            routes:
              app:
                pools: { blue: 100, gren: 0 }

            """ + Self.pools
        expectError(yaml, line: 7, column: 25, "pool 'gren' is not defined in 'pools' (did you mean 'green'?)")
    }

    @Test func poolsIsRequired() {
        let yaml = Self.listener + """
            routes:
              app:
                ramp: 5s

            """ + Self.pools
        expectError(yaml, line: 7, column: 5, "missing required key 'pools' in routes.app")
    }

    @Test func rampIsADuration() throws {
        let good = Self.listener + "routes:\n  app:\n    pools: { blue: 1 }\n    ramp: 1m30s\n" + Self.pools
        #expect(try #require(parseValid(good)?.route(named: "app")).ramp == .seconds(90))
        let bad = Self.listener + "routes:\n  app:\n    pools: { blue: 1 }\n    ramp: soon\n" + Self.pools
        expectError(bad, line: 8, column: 11,
                    "invalid 'routes.app.ramp': expected a duration like 250ms, 2s or 5m, found 'soon'")
    }

    @Test func routeNamesUseASafeAlphabet() {
        let yaml = Self.listener + "routes:\n  my app:\n    pools: { blue: 1 }\n" + Self.pools
        expectError(yaml, line: 6, column: 3, "invalid route name 'my app'")
    }

    @Test func unknownRouteKeySuggests() {
        let yaml = Self.listener + "routes:\n  app:\n    pools: { blue: 1 }\n    stickey: {}\n" + Self.pools
        expectError(yaml, line: 8, column: 5, "unknown key 'stickey' in routes.app (did you mean 'sticky'?)")
    }

    @Test func stickyNeedsACookie() {
        let yaml = Self.listener + "routes:\n  app:\n    pools: { blue: 1 }\n    sticky: {}\n" + Self.pools
        expectError(yaml, line: 8, column: 13, "missing required key 'cookie' in routes.app.sticky")
    }

    @Test func stickyCookieMustBeAToken() throws {
        let good = Self.listener + "routes:\n  app:\n    pools: { blue: 1 }\n    sticky:\n      cookie: cutover_pool\n" + Self.pools
        #expect(try #require(parseValid(good)?.route(named: "app")?.sticky).cookie == "cutover_pool")
        let bad = Self.listener + "routes:\n  app:\n    pools: { blue: 1 }\n    sticky:\n      cookie: \"my cookie\"\n" + Self.pools
        expectError(bad, line: 9, column: 15, "invalid 'routes.app.sticky.cookie': 'my cookie' is not a valid cookie name")
    }

    @Test func overrideDefaultsToLoopback() throws {
        let yaml = Self.listener + "routes:\n  app:\n    pools: { blue: 1 }\n    override: { header: X-Cutover-Pool }\n" + Self.pools
        let override = try #require(parseValid(yaml)?.route(named: "app")?.override)
        #expect(override.header == "X-Cutover-Pool")
        #expect(override.allowFrom == ["127.0.0.0/8", "::1/128"])
        #expect(override.allowFromBlocks.map(\.description) == ["127.0.0.0/8", "::1/128"])
    }

    @Test func overrideHeaderMustBeAToken() {
        let yaml = Self.listener + "routes:\n  app:\n    pools: { blue: 1 }\n    override:\n      header: \"X Pool\"\n" + Self.pools
        expectError(yaml, line: 9, column: 15, "invalid 'routes.app.override.header': 'X Pool' is not a valid header name")
    }

    @Test func overrideNeedsAHeader() {
        let yaml = Self.listener + "routes:\n  app:\n    pools: { blue: 1 }\n    override:\n      allow_from: [10.0.0.0/8]\n" + Self.pools
        expectError(yaml, line: 9, column: 7, "missing required key 'header' in routes.app.override")
    }

    @Test func allowFromAcceptsBlocksAndBareAddresses() throws {
        let yaml = Self.listener + """
            routes:
              app:
                pools: { blue: 1 }
                override:
                  header: X-Cutover-Pool
                  allow_from: [10.0.0.0/8, 192.0.2.7, "2001:db8::/32", "::1"]

            """ + Self.pools
        let override = try #require(parseValid(yaml)?.route(named: "app")?.override)
        #expect(override.allowFrom == ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1"])
        #expect(override.allowFromBlocks.map(\.description) == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "::1/128"])
    }

    @Test(arguments: [
        ("10.0.0.0/33", "the prefix length must be a number from 0 to 32"),
        ("'::1/129'", "the prefix length must be a number from 0 to 128"),
        ("10.0.0.300", "is not an IPv4 or IPv6 address block"),
        ("office", "is not an IPv4 or IPv6 address block"),
    ])
    func allowFromRejectsBadBlocks(block: String, reason: String) {
        let yaml = Self.listener + """
            routes:
              app:
                pools: { blue: 1 }
                override:
                  header: X-Cutover-Pool
                  allow_from: [10.0.0.0/8, \(block)]

            """ + Self.pools
        expectError(yaml, line: 10, column: 32, "invalid 'routes.app.override.allow_from[1]': ")
        expectError(yaml, line: 10, column: 32, reason)
    }

    @Test func allowFromMustNotBeEmpty() {
        let yaml = Self.listener + "routes:\n  app:\n    pools: { blue: 1 }\n    override:\n      header: X-P\n      allow_from: []\n" + Self.pools
        expectError(yaml, line: 10, column: 19, "invalid 'routes.app.override.allow_from': must not be empty")
    }
}

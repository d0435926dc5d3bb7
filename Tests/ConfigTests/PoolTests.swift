import Config
import Testing

/// `pools:` rules. Every literal is `headBeforePools` (7 lines) + `pools:` on line 8 + `blue:` on 9.
@Suite struct PoolTests {
    @Test func defaultsApply() throws {
        let yaml = headBeforePools + """
            pools:
              blue:
                backends:
                  - address: 127.0.0.1:9001
                  - { address: 127.0.0.1:9002, weight: 0 }
              spare:
                backends:
                  - address: 127.0.0.1:9201
            """
        let config = try #require(parseValid(yaml))
        let blue = try #require(config.pool(named: "blue"))
        #expect(blue.balance == .roundRobin)
        #expect(blue.backends.map(\.address.description) == ["127.0.0.1:9001", "127.0.0.1:9002"])
        #expect(blue.backends.map(\.weight) == [1, 0])
        #expect(blue.backends[1].location == Config.SourceLocation(file: testFile, line: 12, column: 9))
        #expect(blue.healthCheck == nil)
        #expect(blue.passive == nil)
        #expect(blue.slowStart == .seconds(0))
        #expect(blue.deregistrationDelay == .seconds(30))
        #expect(blue.tls == nil)
        #expect(blue.location == Config.SourceLocation(file: testFile, line: 9, column: 3))
        #expect(config.pools.map(\.name) == ["blue", "spare"], "an unreferenced pool is allowed")
    }

    @Test(arguments: [("round_robin", BalanceAlgorithm.roundRobin), ("least_request", .leastRequest), ("random", .random)])
    func balanceAlgorithms(text: String, expected: BalanceAlgorithm) throws {
        let yaml = headBeforePools + "pools:\n  blue:\n    balance: \(text)\n    backends: [{ address: 127.0.0.1:9001 }]\n"
        #expect(try #require(parseValid(yaml)?.pool(named: "blue")).balance == expected)
    }

    @Test func balanceMustBeKnown() {
        let yaml = headBeforePools + "pools:\n  blue:\n    balance: least_requests\n    backends: [{ address: 127.0.0.1:9001 }]\n"
        expectError(yaml, line: 10, column: 14,
                    "expected one of 'round_robin', 'least_request', 'random', found 'least_requests' (did you mean 'least_request'?)")
    }

    @Test func poolsMustNotBeEmpty() {
        expectError(headBeforePools + "pools: {}\n", line: 8, column: 8, "invalid 'pools': must not be empty")
    }

    @Test func poolNamesUseASafeAlphabet() {
        expectError(headBeforePools + "pools:\n  blue/2:\n    backends: [{ address: 127.0.0.1:9001 }]\n",
                    line: 9, column: 3, "invalid pool name 'blue/2'")
    }

    @Test func backendsAreRequired() {
        expectError(headBeforePools + "pools:\n  blue:\n    balance: random\n", line: 10, column: 5,
                    "missing required key 'backends' in pools.blue")
    }

    @Test func backendsMustNotBeEmpty() {
        expectError(headBeforePools + "pools:\n  blue:\n    backends: []\n", line: 10, column: 15,
                    "invalid 'pools.blue.backends': must not be empty")
    }

    @Test func backendNeedsAnAddress() {
        expectError(headBeforePools + "pools:\n  blue:\n    backends:\n      - weight: 2\n", line: 11, column: 9,
                    "missing required key 'address' in pools.blue.backends[0]")
    }

    @Test func backendAddressMustHaveAPort() {
        expectError(headBeforePools + "pools:\n  blue:\n    backends:\n      - address: 127.0.0.1\n", line: 11, column: 18,
                    "invalid 'pools.blue.backends[0].address': '127.0.0.1' has no port")
    }

    @Test func backendIPv6NeedsBrackets() {
        expectError(headBeforePools + "pools:\n  blue:\n    backends:\n      - address: \"::1:9001\"\n", line: 11, column: 18,
                    "an IPv6 address must be written in brackets")
    }

    @Test func backendAddressIsUniqueWithinAPool() {
        let yaml = headBeforePools + """
            pools:
              blue:
                backends:
                  - address: 127.0.0.1:9001
                  - address: 127.0.0.1:9001
            """
        expectError(yaml, line: 12, column: 18,
                    "duplicate backend 127.0.0.1:9001 in 'pools.blue.backends' (first on line 11)")
    }

    @Test func theSameBackendMayServeTwoPools() throws {
        let yaml = headBeforePools + """
            pools:
              blue:
                backends: [{ address: 127.0.0.1:9001 }]
              green:
                backends: [{ address: 127.0.0.1:9001 }]
            """
        #expect(try #require(parseValid(yaml)).pools.count == 2)
    }

    @Test(arguments: ["257", "-1", "1.5"])
    func backendWeightIsZeroTo256(weight: String) {
        let yaml = headBeforePools + "pools:\n  blue:\n    backends:\n      - { address: 127.0.0.1:9001, weight: \(weight) }\n"
        expectError(yaml, line: 11, column: 44, "invalid 'pools.blue.backends[0].weight': ")
    }

    @Test func backendStateDefaultsToActive() throws {
        let yaml = headBeforePools + """
            pools:
              blue:
                backends:
                  - address: 127.0.0.1:9001
                  - { address: 127.0.0.1:9002, state: drain }
                  - address: 127.0.0.1:9003
                    state: active
            """
        let blue = try #require(parseValid(yaml)?.pool(named: "blue"))
        #expect(blue.backends.map(\.state) == [.active, .drain, .active])
        #expect(blue.backends.map(\.weight) == [1, 1, 1])
    }

    @Test func backendStateMustBeKnown() {
        expectError(headBeforePools + "pools:\n  blue:\n    backends:\n      - { address: 127.0.0.1:9001, state: drained }\n",
                    line: 11, column: 43,
                    "invalid 'pools.blue.backends[0].state': expected one of 'active', 'drain', found 'drained' (did you mean 'drain'?)")
        expectError(headBeforePools + "pools:\n  blue:\n    backends:\n      - address: 127.0.0.1:9001\n        state: [drain]\n",
                    line: 12, column: 16, "invalid 'pools.blue.backends[0].state': expected one of 'active', 'drain', found a list")
        expectError(headBeforePools + "pools:\n  blue:\n    backends:\n      - address: 127.0.0.1:9001\n        status: drain\n",
                    line: 12, column: 9, "unknown key 'status' in pools.blue.backends[0] (did you mean 'state'?)")
    }

    @Test func aBackendsStateIsPartOfEqualityButItsPositionsAreNot() throws {
        let active = headBeforePools + "pools:\n  blue:\n    backends:\n      - { address: 127.0.0.1:9001 }\n"
        let drained = headBeforePools + "pools:\n  blue:\n    backends:\n      - { address: 127.0.0.1:9001, state: drain }\n"
        let respaced = headBeforePools + "pools:\n  blue:\n    backends:\n      - {   address:    127.0.0.1:9001 }\n"
        let a = try #require(parseValid(active)?.pool(named: "blue"))
        let b = try #require(parseValid(drained)?.pool(named: "blue"))
        let c = try #require(parseValid(respaced)?.pool(named: "blue"))
        #expect(a != b)
        #expect(a.backends[0] != b.backends[0])
        #expect(a.backends[0].spans != c.backends[0].spans)
        #expect(a == c, "where the values sit on the line is not a change")
    }

    @Test func slowStartAndDeregistrationDelayAreDurations() throws {
        let yaml = headBeforePools + """
            pools:
              blue:
                slow_start: 45s
                deregistration_delay: 0s
                backends: [{ address: 127.0.0.1:9001 }]
            """
        let blue = try #require(parseValid(yaml)?.pool(named: "blue"))
        #expect(blue.slowStart == .seconds(45))
        #expect(blue.deregistrationDelay == .seconds(0))
        expectError(headBeforePools + "pools:\n  blue:\n    slow_start: fast\n    backends: [{ address: 127.0.0.1:9001 }]\n", line: 10, column: 17,
                    "invalid 'pools.blue.slow_start': expected a duration like 250ms, 2s or 5m, found 'fast'")
    }

    @Test func upstreamTLSVerifiesByDefault() throws {
        let yaml = headBeforePools + "pools:\n  blue:\n    tls: { sni: api.internal }\n    backends: [{ address: 127.0.0.1:9001 }]\n"
        let tls = try #require(parseValid(yaml)?.pool(named: "blue")?.tls)
        #expect(tls.verify)
        #expect(tls.ca == nil)
        #expect(tls.sni == "api.internal")
        let off = headBeforePools + "pools:\n  blue:\n    tls: { verify: false, ca: ca.pem }\n    backends: [{ address: 127.0.0.1:9001 }]\n"
        let offTLS = try #require(parseValid(off)?.pool(named: "blue")?.tls)
        #expect(!offTLS.verify)
        #expect(offTLS.ca == "ca.pem")
    }

    @Test func upstreamTLSVerifyIsABoolean() {
        let yaml = headBeforePools + "pools:\n  blue:\n    tls:\n      verify: maybe\n    backends: [{ address: 127.0.0.1:9001 }]\n"
        expectError(yaml, line: 11, column: 15, "invalid 'pools.blue.tls.verify': expected true or false, found 'maybe'")
    }
}

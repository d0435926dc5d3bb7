import Config
@testable import Fleet
import Testing

/// The desired-state document: its JSON, its checks against a local config, and the overlay.
@Suite struct FleetDocumentTests {
    static let yaml = """
        listeners:
          - { name: web, listen: 127.0.0.1:8080, route: app }
        routes:
          app:
            pools: { blue: 100, green: 0 }
            ramp: 5s
          api:
            pools: { blue: 1 }
        pools:
          blue:
            backends:
              - address: 127.0.0.1:9001
              - address: 127.0.0.1:9002
          green:
            backends:
              - address: 127.0.0.1:9101

        """

    static func config() throws -> CutoverConfig { try ConfigLoader.parse(yaml: yaml, file: "fleet.yaml") }

    @Test func roundTripsThroughJSON() throws {
        let document = FleetDocument(generation: 7, previous: 6, routes: ["app": .init(pools: ["green": 100, "blue": 0], ramp: "30s")],
                                     backends: ["blue": ["127.0.0.1:9001": "drain"]], writtenBy: "test")
        let text = String(decoding: document.encoded(), as: UTF8.self)
        #expect(text.contains("\"written_by\":\"test\""))
        #expect(text.contains("\"format\":1"))
        #expect(try FleetDocument.decode(document.encoded()).get() == document)
    }

    @Test func refusesOtherFormatsAndGarbage() {
        #expect(throws: FleetRefusal.self) { try FleetDocument.decode(Array("nope".utf8)).get() }
        let future = Array(#"{"format": 2, "generation": 3}"#.utf8)
        #expect(throws: FleetRefusal("document format 2 is not one this binary reads (1); upgrade it")) {
            try FleetDocument.decode(future).get()
        }
    }

    @Test func aDocumentThatFitsHasNoProblems() throws {
        let document = FleetDocument(generation: 1, previous: nil, routes: ["app": .init(pools: ["green": 100])],
                                     backends: ["blue": ["127.0.0.1:9002": "drain"]], writtenBy: "test")
        #expect(FleetOverlay.problems(document, against: try Self.config()).isEmpty)
    }

    @Test func namesEverythingThatDoesNotFit() throws {
        let document = FleetDocument(generation: 1, previous: nil,
                                     routes: ["app": .init(pools: ["canary": 100, "blue": 0], ramp: "soon"),
                                              "web": .init(pools: ["blue": 1]),
                                              "api": .init(pools: ["blue": 0])],
                                     backends: ["blue": ["127.0.0.1:9009": "drain", "127.0.0.1:9001": "off"], "red": [:]],
                                     writtenBy: "test")
        let problems = FleetOverlay.problems(document, against: try Self.config())
        #expect(problems == [
            "route 'api': the weights add up to 0",
            "route 'app': pool 'canary' is not one of its pools here (blue, green)",
            "route 'app': ramp 'soon' is not a duration",
            "route 'web' is not in this instance's config (routes: app, api)",
            "pool 'blue': backend 127.0.0.1:9001: state 'off' is neither active nor drain",
            "pool 'blue': backend 127.0.0.1:9009 is not in this instance's config",
            "pool 'red' is not in this instance's config",
        ])
    }

    @Test func overlaysSplitsRampsAndAdminStates() throws {
        let document = FleetDocument(generation: 2, previous: 1, routes: ["app": .init(pools: ["green": 100], ramp: "30s")],
                                     backends: ["blue": ["127.0.0.1:9001": "drain"]], writtenBy: "test")
        let result = FleetOverlay.apply(document, to: try Self.config())
        let app = try #require(result.route(named: "app"))
        #expect(app.pools.map(\.name) == ["blue", "green"])
        #expect(app.pools.map(\.weight) == [0, 100])
        #expect(app.ramp == .seconds(30))
        #expect(result.route(named: "api")?.pools.map(\.weight) == [1])
        #expect(result.pool(named: "blue")?.backends.map(\.state) == [.drain, .active])
    }

    @Test func nextCarriesTheStateForward() {
        let document = FleetDocument(generation: 4, previous: 3, routes: ["app": .init(pools: ["blue": 1])], writtenBy: "a")
        let next = document.next(writtenBy: "b")
        #expect(next.generation == 5)
        #expect(next.previous == 4)
        #expect(next.routes == document.routes)
        #expect(next.id != document.id)
    }
}

/// The gateway's framing helpers: JSON objects split out of a stream, the prefix range end.
@Suite struct GatewayFramingTests {
    @Test func findsWholeObjectsOnly() {
        let stream = Array(#"{"result":{"a":"}{\"x"}}"#.utf8) + [10] + Array(#"{"result":"#.utf8)
        let end = GatewayConnection.objectEnd(in: stream)
        #expect(end == 24)
        #expect(GatewayConnection.objectEnd(in: Array(stream[(end ?? 0)...])) == nil)
    }

    @Test func rangeEndIsThePrefixPlusOne() {
        #expect(EtcdClient.rangeEnd("/f/instances/") == Array("/f/instances0".utf8))
        #expect(EtcdClient.rangeEnd("a\u{7f}") == [0x61, 0x80])
    }
}

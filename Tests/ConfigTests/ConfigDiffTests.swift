import Config
import Foundation
import Testing

/// `describeChanges`: the change list of `POST /reload` and `cutover reload`.
@Suite struct ConfigDiffTests {
    static let base = """
        workers: 2
        admin: { listen: 127.0.0.1:9901, token: old-secret }
        listeners:
          - name: web
            listen: 127.0.0.1:8080
            route: app
        routes:
          app:
            pools: { blue: 100, green: 0 }
        pools:
          blue:
            backends:
              - { address: 127.0.0.1:9001 }
              - { address: 127.0.0.1:9002 }
          green:
            backends:
              - { address: 127.0.0.1:9101 }

        """

    func changes(_ old: String, _ new: String) throws -> [String] {
        let a = try #require(parseValid(old))
        let b = try #require(parseValid(new))
        return describeChanges(from: a, to: b)
    }

    @Test func theSameFileHasNoChanges() throws {
        #expect(try changes(Self.base, Self.base) == [])
    }

    @Test func movingSectionsAroundIsNoChange() throws {
        let moved = "\n\n" + Self.base.replacingOccurrences(of: "{ blue: 100, green: 0 }", with: "{ green: 0, blue: 100 }")
        #expect(try changes(Self.base, moved) == [])
    }

    @Test func aBlueGreenSwitchNamesBothPools() throws {
        let switched = Self.base.replacingOccurrences(of: "{ blue: 100, green: 0 }", with: "{ blue: 0, green: 100 }")
        #expect(try changes(Self.base, switched) == ["route app: blue 100 → 0, green 0 → 100"])
    }

    @Test func aPoolLeavingTheSplitCountsAsZero() throws {
        let blueOnly = Self.base.replacingOccurrences(of: "{ blue: 100, green: 0 }", with: "{ blue: 100 }")
        #expect(try changes(Self.base, blueOnly) == [])
        let greenOnly = Self.base.replacingOccurrences(of: "{ blue: 100, green: 0 }", with: "{ green: 5 }")
        #expect(try changes(Self.base, greenOnly) == ["route app: green 0 → 5, blue 100 → 0"])
    }

    @Test func backendsAddedRemovedAndReweighted() throws {
        let edited = Self.base
            .replacingOccurrences(of: "- { address: 127.0.0.1:9001 }", with: "- { address: 127.0.0.1:9001, weight: 3 }")
            .replacingOccurrences(of: "- { address: 127.0.0.1:9002 }", with: "- { address: 127.0.0.1:9003 }")
        #expect(try changes(Self.base, edited) == [
            "pool blue: backend 127.0.0.1:9001 weight 1 → 3",
            "pool blue: backend 127.0.0.1:9003 added (weight 1)",
            "pool blue: backend 127.0.0.1:9002 removed",
        ])
    }

    @Test func backendStateChangesAreNamed() throws {
        let drained = Self.base
            .replacingOccurrences(of: "- { address: 127.0.0.1:9002 }", with: "- { address: 127.0.0.1:9002, state: drain, weight: 4 }")
            .replacingOccurrences(of: "- { address: 127.0.0.1:9101 }", with: "- { address: 127.0.0.1:9101 }\n      - { address: 127.0.0.1:9102, state: drain }")
        #expect(try changes(Self.base, drained) == [
            "pool blue: backend 127.0.0.1:9002 weight 1 → 4",
            "pool blue: backend 127.0.0.1:9002 drain",
            "pool green: backend 127.0.0.1:9102 added (weight 1, drain)",
        ])
        #expect(try changes(drained, Self.base) == [
            "pool blue: backend 127.0.0.1:9002 weight 4 → 1",
            "pool blue: backend 127.0.0.1:9002 active",
            "pool green: backend 127.0.0.1:9102 removed",
        ])
        let explicit = Self.base.replacingOccurrences(of: "- { address: 127.0.0.1:9001 }", with: "- { address: 127.0.0.1:9001, state: active }")
        #expect(try changes(Self.base, explicit) == [], "writing the default is no change")
    }

    @Test func poolsRoutesAndListenersAddedAndRemoved() throws {
        let grown = Self.base
            .replacingOccurrences(of: "routes:\n", with: """
                  - name: api
                    listen: 127.0.0.1:8081
                    route: api
                routes:
                  api:
                    pools: { canary: 1 }

                """)
            + "  canary:\n    balance: random\n    backends:\n      - { address: 127.0.0.1:9201 }\n"
        #expect(try changes(Self.base, grown) == [
            "listener api added (127.0.0.1:8081 http → route api)",
            "route api added: canary 1",
            "pool canary added (1 backend)",
        ])
        #expect(try changes(grown, Self.base) == [
            "listener api removed (127.0.0.1:8081)",
            "route api removed",
            "pool canary removed",
        ])
    }

    @Test func startUpSettingsSayTheyWaitForARestartAndTokensStaySecret() throws {
        let edited = Self.base
            .replacingOccurrences(of: "workers: 2", with: "workers: 4")
            .replacingOccurrences(of: "{ listen: 127.0.0.1:9901, token: old-secret }", with: "{ listen: 127.0.0.1:9902, token: new-secret }")
            + "timeouts:\n  connect: 1s\n"
        let list = try changes(Self.base, edited)
        #expect(list == [
            "workers: 2 → 4 (applies at restart)",
            "admin listen: 127.0.0.1:9901 → 127.0.0.1:9902 (applies at restart)",
            "admin token changed",
            "timeouts.connect: 3s → 1s",
        ])
        #expect(!list.joined().contains("secret"))
    }

    @Test func listenerAndPoolSettings() throws {
        let edited = Self.base
            .replacingOccurrences(of: "listen: 127.0.0.1:8080", with: "listen: 127.0.0.1:8090")
            .replacingOccurrences(of: "  green:\n", with: "  green:\n    balance: least_request\n    slow_start: 30s\n")
        #expect(try changes(Self.base, edited) == [
            "listener web: listen 127.0.0.1:8080 → 127.0.0.1:8090",
            "pool green: balance round_robin → least_request, slow_start 0s → 30s",
        ])
    }
}

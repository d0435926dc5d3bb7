import Config
import Testing

/// `BackendRewrite`: a pool's backends list edited in the file's text. The new text is compared
/// whole, so every comment, blank line and space that should stay is checked to stay; anything
/// the rewrite cannot edit safely is refused.
@Suite struct BackendRewriteTests {
    static let head = """
        # cutover for the shop
        listeners:
          - name: web            # public
            listen: 127.0.0.1:8080
            route: app
        routes:
          app:
            pools: { blue: 100, green: 0 }

        """
    static let tail = """

        # the standby colour
          green:
            backends:
              - address: 127.0.0.1:9101   # g1

        """

    static let a1 = HostPort(host: "127.0.0.1", port: 9001)
    static let a2 = HostPort(host: "127.0.0.1", port: 9002)
    static let a3 = HostPort(host: "127.0.0.1", port: 9003)
    static let a9 = HostPort(host: "127.0.0.1", port: 9009)

    enum Operation {
        case add(HostPort, weight: Int?, state: BackendAdminState)
        case remove(HostPort)
        case state(HostPort, BackendAdminState)
        case weight(HostPort, Int)
    }

    static func run(_ operation: Operation, on text: String, pool: String = "blue") throws -> BackendRewrite.Result {
        let config = try ConfigLoader.parse(yaml: text, file: "test.yaml")
        switch operation {
        case .add(let address, let weight, let state):
            return try BackendRewrite.add(text, config: config, pool: pool, address: address, weight: weight, state: state)
        case .remove(let address):
            return try BackendRewrite.remove(text, config: config, pool: pool, address: address)
        case .state(let address, let state):
            return try BackendRewrite.setState(text, config: config, pool: pool, address: address, to: state)
        case .weight(let address, let weight):
            return try BackendRewrite.setWeight(text, config: config, pool: pool, address: address, to: weight)
        }
    }

    /// `blue`'s pool text (from `pools:`) between the fixed head and tail, edited; the whole new
    /// text must be head + `expected` + tail.
    func expect(_ pools: String, _ operation: Operation, gives expected: String,
                sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let result = try Self.run(operation, on: Self.head + pools + Self.tail)
        #expect(result.text == Self.head + expected + Self.tail, sourceLocation: sourceLocation)
    }

    func failure(_ pools: String, _ operation: Operation, pool: String = "blue") throws -> String {
        do {
            let result = try Self.run(operation, on: Self.head + pools + Self.tail, pool: pool)
            Issue.record("expected a refusal, got:\n\(result.text)")
            return ""
        } catch let error as BackendRewrite.Failure {
            return error.description
        }
    }

    // MARK: a block list of flow mappings

    static let flowItems = """
        pools:
          blue:    # live
            balance: round_robin
            backends:
              # the first rack
              - { address: 127.0.0.1:9001, weight: 2 }   # b1

              - { address: 127.0.0.1:9002 }
            # checks
            health_check: { path: /health }
        """

    @Test func flowItemsAdd() throws {
        try expect(Self.flowItems, .add(Self.a3, weight: 5, state: .active), gives: """
            pools:
              blue:    # live
                balance: round_robin
                backends:
                  # the first rack
                  - { address: 127.0.0.1:9001, weight: 2 }   # b1

                  - { address: 127.0.0.1:9002 }
                  - { address: 127.0.0.1:9003, weight: 5 }
                # checks
                health_check: { path: /health }
            """)
        try expect(Self.flowItems, .add(Self.a3, weight: nil, state: .drain), gives: """
            pools:
              blue:    # live
                balance: round_robin
                backends:
                  # the first rack
                  - { address: 127.0.0.1:9001, weight: 2 }   # b1

                  - { address: 127.0.0.1:9002 }
                  - { address: 127.0.0.1:9003, state: drain }
                # checks
                health_check: { path: /health }
            """)
    }

    @Test func flowItemsRemove() throws {
        try expect(Self.flowItems, .remove(Self.a1), gives: """
            pools:
              blue:    # live
                balance: round_robin
                backends:
                  # the first rack

                  - { address: 127.0.0.1:9002 }
                # checks
                health_check: { path: /health }
            """)
        try expect(Self.flowItems, .remove(Self.a2), gives: """
            pools:
              blue:    # live
                balance: round_robin
                backends:
                  # the first rack
                  - { address: 127.0.0.1:9001, weight: 2 }   # b1

                # checks
                health_check: { path: /health }
            """)
    }

    @Test func flowItemsState() throws {
        try expect(Self.flowItems, .state(Self.a1, .drain), gives: """
            pools:
              blue:    # live
                balance: round_robin
                backends:
                  # the first rack
                  - { address: 127.0.0.1:9001, weight: 2, state: drain }   # b1

                  - { address: 127.0.0.1:9002 }
                # checks
                health_check: { path: /health }
            """)
        let drained = "pools:\n  blue:\n    backends:\n      - { state: drain, address: 127.0.0.1:9001 }\n      - {address: 127.0.0.1:9002, state: 'drain', weight: 3}\n"
        try expect(drained, .state(Self.a1, .active),
                   gives: "pools:\n  blue:\n    backends:\n      - { address: 127.0.0.1:9001 }\n      - {address: 127.0.0.1:9002, state: 'drain', weight: 3}\n")
        try expect(drained, .state(Self.a2, .active),
                   gives: "pools:\n  blue:\n    backends:\n      - { state: drain, address: 127.0.0.1:9001 }\n      - {address: 127.0.0.1:9002, weight: 3}\n")
        // Already so: nothing changes.
        try expect(drained, .state(Self.a1, .drain), gives: drained)
        try expect(Self.flowItems, .state(Self.a2, .active), gives: Self.flowItems)
    }

    @Test func flowItemsWeight() throws {
        try expect(Self.flowItems, .weight(Self.a1, 256), gives: Self.flowItems.replacing("weight: 2 }", with: "weight: 256 }"))
        try expect(Self.flowItems, .weight(Self.a2, 0),
                   gives: Self.flowItems.replacing("- { address: 127.0.0.1:9002 }", with: "- { address: 127.0.0.1:9002, weight: 0 }"))
        let quoted = "pools:\n  blue:\n    backends:\n      - { address: \"127.0.0.1:9001\", weight: \"7\" }\n      - { address: 127.0.0.1:9002, }\n"
        try expect(quoted, .weight(Self.a1, 8), gives: quoted.replacing("\"7\"", with: "\"8\""))
        try expect(quoted, .weight(Self.a2, 3), gives: quoted.replacing("9002, }", with: "9002, weight: 3 }"))
    }

    @Test func aFlowEntrySpanningLinesGetsItsEntryBeforeTheBrace() throws {
        let pools = "pools:\n  blue:\n    backends:\n      - { address: 127.0.0.1:9001,   # one\n          weight: 2 }  # two\n      - { address: 127.0.0.1:9002 }\n"
        try expect(pools, .state(Self.a1, .drain),
                   gives: "pools:\n  blue:\n    backends:\n      - { address: 127.0.0.1:9001,   # one\n          weight: 2, state: drain }  # two\n      - { address: 127.0.0.1:9002 }\n")
        try expect(pools, .remove(Self.a1), gives: "pools:\n  blue:\n    backends:\n      - { address: 127.0.0.1:9002 }\n")
        try expect(pools, .add(Self.a3, weight: nil, state: .active),
                   gives: pools + "      - { address: 127.0.0.1:9003 }\n")
    }

    // MARK: a block list of block mappings

    static let blockItems = """
        pools:
          blue:
            backends:
            - address: 127.0.0.1:9001   # b1
              # heavier box
              weight: 4

            # the second rack
            -   address: "127.0.0.1:9002"
                state: drain   # until the upgrade is done
            slow_start: 30s
        """

    @Test func blockItemsAdd() throws {
        try expect(Self.blockItems, .add(Self.a3, weight: 2, state: .drain), gives: """
            pools:
              blue:
                backends:
                - address: 127.0.0.1:9001   # b1
                  # heavier box
                  weight: 4

                # the second rack
                -   address: "127.0.0.1:9002"
                    state: drain   # until the upgrade is done
                -   address: "127.0.0.1:9003"
                    weight: 2
                    state: drain
                slow_start: 30s
            """)
    }

    @Test func blockItemsRemove() throws {
        try expect(Self.blockItems, .remove(Self.a1), gives: """
            pools:
              blue:
                backends:

                # the second rack
                -   address: "127.0.0.1:9002"
                    state: drain   # until the upgrade is done
                slow_start: 30s
            """)
        try expect(Self.blockItems, .remove(Self.a2), gives: """
            pools:
              blue:
                backends:
                - address: 127.0.0.1:9001   # b1
                  # heavier box
                  weight: 4

                # the second rack
                slow_start: 30s
            """)
    }

    @Test func blockItemsState() throws {
        try expect(Self.blockItems, .state(Self.a2, .active), gives: """
            pools:
              blue:
                backends:
                - address: 127.0.0.1:9001   # b1
                  # heavier box
                  weight: 4

                # the second rack
                -   address: "127.0.0.1:9002"
                slow_start: 30s
            """)
        try expect(Self.blockItems, .state(Self.a1, .drain), gives: """
            pools:
              blue:
                backends:
                - address: 127.0.0.1:9001   # b1
                  # heavier box
                  weight: 4
                  state: drain

                # the second rack
                -   address: "127.0.0.1:9002"
                    state: drain   # until the upgrade is done
                slow_start: 30s
            """)
        // A `state:` on the `-` line cannot go without the line: it is written `active` instead.
        let onDashLine = "pools:\n  blue:\n    backends:\n      - state: drain\n        address: 127.0.0.1:9001\n      - address: 127.0.0.1:9002\n"
        try expect(onDashLine, .state(Self.a1, .active), gives: onDashLine.replacing("state: drain", with: "state: active"))
    }

    @Test func blockItemsWeight() throws {
        try expect(Self.blockItems, .weight(Self.a1, 0), gives: Self.blockItems.replacing("weight: 4", with: "weight: 0"))
        try expect(Self.blockItems, .weight(Self.a2, 10), gives: """
            pools:
              blue:
                backends:
                - address: 127.0.0.1:9001   # b1
                  # heavier box
                  weight: 4

                # the second rack
                -   address: "127.0.0.1:9002"
                    state: drain   # until the upgrade is done
                    weight: 10
                slow_start: 30s
            """)
    }

    // MARK: a flow list

    @Test func flowListOnOneLine() throws {
        let pools = "pools:\n  blue:\n    backends: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9002, weight: 2 }]  # all\n"
        try expect(pools, .add(Self.a3, weight: nil, state: .active),
                   gives: "pools:\n  blue:\n    backends: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9002, weight: 2 }, { address: 127.0.0.1:9003 }]  # all\n")
        try expect(pools, .remove(Self.a1),
                   gives: "pools:\n  blue:\n    backends: [{ address: 127.0.0.1:9002, weight: 2 }]  # all\n")
        try expect(pools, .remove(Self.a2),
                   gives: "pools:\n  blue:\n    backends: [{ address: 127.0.0.1:9001 }]  # all\n")
        try expect(pools, .state(Self.a2, .drain),
                   gives: "pools:\n  blue:\n    backends: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9002, weight: 2, state: drain }]  # all\n")
        try expect(pools, .weight(Self.a1, 9),
                   gives: "pools:\n  blue:\n    backends: [{ address: 127.0.0.1:9001, weight: 9 }, { address: 127.0.0.1:9002, weight: 2 }]  # all\n")
    }

    @Test func flowListOneEntryPerLine() throws {
        let pools = """
            pools:
              blue:
                backends: [
                  { address: 127.0.0.1:9001 },   # b1
                  # b2 next
                  { address: 127.0.0.1:9002 }    # b2
                ]
            """
        try expect(pools, .add(Self.a3, weight: 1, state: .active), gives: """
            pools:
              blue:
                backends: [
                  { address: 127.0.0.1:9001 },   # b1
                  # b2 next
                  { address: 127.0.0.1:9002 },    # b2
                  { address: 127.0.0.1:9003, weight: 1 }
                ]
            """)
        try expect(pools, .remove(Self.a2), gives: """
            pools:
              blue:
                backends: [
                  { address: 127.0.0.1:9001 }   # b1
                  # b2 next
                ]
            """)
        try expect(pools, .remove(Self.a1), gives: """
            pools:
              blue:
                backends: [
                  # b2 next
                  { address: 127.0.0.1:9002 }    # b2
                ]
            """)
    }

    @Test func flowListWithATrailingComma() throws {
        let pools = "pools:\n  blue:\n    backends: [\n      { address: 127.0.0.1:9001 },\n      { address: 127.0.0.1:9002 },\n    ]\n"
        let added = "pools:\n  blue:\n    backends: [\n      { address: 127.0.0.1:9001 },\n      { address: 127.0.0.1:9002 },\n      { address: 127.0.0.1:9003, state: drain },\n    ]\n"
        try expect(pools, .add(Self.a3, weight: nil, state: .drain), gives: added)
        try expect(added, .remove(Self.a3), gives: pools)
        try expect(pools, .remove(Self.a1), gives: "pools:\n  blue:\n    backends: [\n      { address: 127.0.0.1:9002 },\n    ]\n")
    }

    @Test func layoutsThisCannotCutAroundAreRefused() throws {
        let dashAlone = "pools:\n  blue:\n    backends:\n      -\n        address: 127.0.0.1:9001\n      - address: 127.0.0.1:9002\n"
        #expect(try failure(dashAlone, .remove(Self.a2)) == "test.yaml:13:9: backend 127.0.0.1:9001's '-' is not on the line of its first key; edit it by hand")
        let commentBetween = "pools:\n  blue:\n    backends: [{ address: 127.0.0.1:9001 },  # one\n      { address: 127.0.0.1:9002 }]\n"
        #expect(try failure(commentBetween, .remove(Self.a1)).hasSuffix("shares its lines with comments or other text this cannot cut around; edit it by hand"))
        #expect(try failure(commentBetween, .remove(Self.a2)).hasPrefix("test.yaml:12:7: backend 127.0.0.1:9002 shares its lines"))
        // What needs no cutting still works.
        try expect(commentBetween, .state(Self.a1, .drain),
                   gives: "pools:\n  blue:\n    backends: [{ address: 127.0.0.1:9001, state: drain },  # one\n      { address: 127.0.0.1:9002 }]\n")
        let block = "pools:\n  blue:\n    backends:\n      - address: >-\n          127.0.0.1:9001\n      - address: 127.0.0.1:9002\n"
        #expect(try failure(block, .state(Self.a2, .drain)).contains("cannot edit in place; edit it by hand"))
    }

    // MARK: layout details

    @Test func crlfLineEndingsAreKept() throws {
        let text = (Self.head + Self.blockItems + Self.tail).replacing("\n", with: "\r\n")
        let added = try Self.run(.add(Self.a3, weight: nil, state: .active), on: text)
        #expect(added.text == text.replacing("until the upgrade is done\r\n",
                                             with: "until the upgrade is done\r\n    -   address: \"127.0.0.1:9003\"\r\n"))
        #expect(try Self.run(.remove(Self.a3), on: added.text).text == text)
        let drained = try Self.run(.state(Self.a1, .drain), on: text)
        #expect(drained.text == text.replacing("weight: 4\r\n", with: "weight: 4\r\n      state: drain\r\n"))
        #expect(try Self.run(.state(Self.a1, .active), on: drained.text).text == text)
        let removed = try Self.run(.remove(Self.a2), on: text)
        #expect(removed.text == text.replacing("    -   address: \"127.0.0.1:9002\"\r\n        state: drain   # until the upgrade is done\r\n", with: ""))
    }

    @Test func aFileWithoutFinalNewlineStaysSo() throws {
        let head = Self.head.replacing(", green: 0", with: "")
        let text = head + "pools:\n  blue:\n    backends:\n      - address: 127.0.0.1:9001\n      - address: 127.0.0.1:9002"
        let added = try Self.run(.add(Self.a3, weight: nil, state: .active), on: text)
        #expect(added.text == text + "\n      - address: 127.0.0.1:9003")
        #expect(try Self.run(.remove(Self.a3), on: added.text).text == text)
        #expect(try Self.run(.remove(Self.a2), on: text).text == head + "pools:\n  blue:\n    backends:\n      - address: 127.0.0.1:9001")
    }

    @Test func ipv6AddressesAreQuoted() throws {
        let v6 = HostPort(host: "::1", port: 9005)
        try expect(Self.flowItems, .add(v6, weight: nil, state: .active),
                   gives: Self.flowItems.replacing("- { address: 127.0.0.1:9002 }\n", with: "- { address: 127.0.0.1:9002 }\n      - { address: \"[::1]:9005\" }\n"))
        let result = try Self.run(.add(v6, weight: nil, state: .active), on: Self.head + Self.flowItems + Self.tail)
        #expect(result.config.pool(named: "blue")?.backends.last?.address == v6)
    }

    @Test func resultCarriesTheConfigAndTheChange() throws {
        let text = Self.head + Self.flowItems + Self.tail
        let drained = try Self.run(.state(Self.a2, .drain), on: text)
        #expect(drained.changes == ["pool blue: backend 127.0.0.1:9002 drain"])
        #expect(drained.config.pool(named: "blue")?.backends.map(\.state) == [.active, .drain])
        let active = try Self.run(.state(Self.a2, .active), on: drained.text)
        #expect(active.changes == ["pool blue: backend 127.0.0.1:9002 active"])
        #expect(try Self.run(.weight(Self.a1, 3), on: text).changes == ["pool blue: backend 127.0.0.1:9001 weight 2 → 3"])
        #expect(try Self.run(.add(Self.a3, weight: 4, state: .drain), on: text).changes
                == ["pool blue: backend 127.0.0.1:9003 added (weight 4, drain)"])
        #expect(try Self.run(.remove(Self.a1), on: text).changes == ["pool blue: backend 127.0.0.1:9001 removed"])
        // The other pool is edited the same way.
        let green = try Self.run(.add(Self.a9, weight: nil, state: .active), on: text, pool: "green")
        #expect(green.text == text.replacing("# g1\n", with: "# g1\n      - address: 127.0.0.1:9009\n"))
    }

    // MARK: round trips

    static let layouts = [flowItems, blockItems,
                          "pools:\n  blue:\n    backends: [{address: 127.0.0.1:9001}, {address: 127.0.0.1:9002}]\n",
                          "pools:\n  blue:\n    backends: [\n      {address: 127.0.0.1:9001},\n      {address: 127.0.0.1:9002}\n    ]\n",
                          "pools:\n  blue:\n    backends:\n    - {address: 127.0.0.1:9001}\n    - address: 127.0.0.1:9002\n"]

    @Test(arguments: layouts)
    func addThenRemoveGivesBackTheOriginal(pools: String) throws {
        let text = Self.head + pools + Self.tail
        let added = try Self.run(.add(Self.a9, weight: 7, state: .drain), on: text)
        #expect(added.text != text)
        #expect(try Self.run(.remove(Self.a9), on: added.text).text == text)
    }

    @Test(arguments: layouts)
    func drainThenActiveGivesBackTheOriginal(pools: String) throws {
        let text = Self.head + pools + Self.tail
        let drained = try Self.run(.state(Self.a1, .drain), on: text)
        #expect(drained.config.pool(named: "blue")?.backends.first?.state == .drain)
        #expect(try Self.run(.state(Self.a1, .active), on: drained.text).text == text)
    }

    @Test(arguments: layouts)
    func weightUpThenBack(pools: String) throws {
        let text = Self.head + pools + Self.tail
        let was = try #require(try ConfigLoader.parse(yaml: text, file: "test.yaml").pool(named: "blue")?.backends[1].weight)
        let heavier = try Self.run(.weight(Self.a2, 100), on: text)
        #expect(heavier.config.pool(named: "blue")?.backends[1].weight == 100)
        let back = try Self.run(.weight(Self.a2, was), on: heavier.text)
        #expect(back.config.pool(named: "blue")?.backends[1].weight == was)
    }

    // MARK: refusals

    @Test func unknownPoolsAndAddressesAreRefused() throws {
        #expect(try failure(Self.flowItems, .add(Self.a3, weight: nil, state: .active), pool: "purple")
                == "test.yaml has no pool 'purple' (pools: blue, green)")
        #expect(try failure(Self.flowItems, .add(Self.a2, weight: nil, state: .active))
                == "test.yaml:16:9: pool 'blue' already has backend 127.0.0.1:9002")
        for operation in [Operation.remove(Self.a9), .state(Self.a9, .drain), .weight(Self.a9, 2)] {
            #expect(try failure(Self.flowItems, operation)
                    == "test.yaml:10:3: pool 'blue' has no backend 127.0.0.1:9009 (its backends: 127.0.0.1:9001, 127.0.0.1:9002)")
        }
    }

    @Test func weightsOutsideTheRangeAreRefused() throws {
        for weight in [-1, 257] {
            #expect(try failure(Self.flowItems, .weight(Self.a1, weight)).contains("between 0 and 256, not \(weight)"))
            #expect(try failure(Self.flowItems, .add(Self.a3, weight: weight, state: .active)).contains("between 0 and 256"))
        }
    }

    @Test func thePoolsLastBackendStays() throws {
        let message = try failure("pools:\n  blue:\n    backends:\n      - address: 127.0.0.1:9001\n", .remove(Self.a1))
        #expect(message.hasPrefix("test.yaml:12:9: 127.0.0.1:9001 is the only backend of pool 'blue', and a pool must keep at least one"))
    }

    @Test func anchorsAliasesAndMergeKeysAreRefused() throws {
        let anchoredList = "pools:\n  blue:\n    backends: &list\n      - address: 127.0.0.1:9001\n      - address: 127.0.0.1:9002\n"
        #expect(try failure(anchoredList, .add(Self.a3, weight: nil, state: .active)).contains("anchor, alias or tag; edit it by hand"))
        let aliasedItem = "pools:\n  blue:\n    backends:\n      - &one { address: 127.0.0.1:9001 }\n      - address: 127.0.0.1:9002\n"
        #expect(try failure(aliasedItem, .state(Self.a2, .drain)).contains("edit it by hand"))
        let anchoredWeight = "pools:\n  blue:\n    backends:\n      - { address: 127.0.0.1:9001, weight: &w 2 }\n      - { address: 127.0.0.1:9002, weight: *w }\n"
        #expect(try failure(anchoredWeight, .weight(Self.a1, 3)) == "test.yaml:12:44: the backends list has an anchor, alias or tag; edit it by hand")
        // A list shared by two pools through an alias: editing it would change both.
        let sharedHead = "listeners:\n  - name: web\n    listen: 127.0.0.1:8080\n    route: app\nroutes:\n  app:\n    pools: { blue: 100 }\n"
        let shared = sharedHead + "pools:\n  blue:\n    backends: &b\n      - address: 127.0.0.1:9001\n  green:\n    backends: *b\n"
        let config = try ConfigLoader.parse(yaml: shared, file: "test.yaml")
        #expect(throws: BackendRewrite.Failure.self) {
            try BackendRewrite.add(shared, config: config, pool: "green", address: Self.a3, weight: nil)
        }
        let mergedItem = sharedHead + "pools:\n  red:\n    backends:\n      - &r { address: 127.0.0.1:9301, weight: 2 }\n"
            + "  blue:\n    backends:\n      - { <<: *r, address: 127.0.0.1:9001 }\n      - address: 127.0.0.1:9002\n"
        let mergedConfig = try ConfigLoader.parse(yaml: mergedItem, file: "test.yaml")
        #expect(mergedConfig.pool(named: "blue")?.backends.first?.weight == 2)
        do {
            _ = try BackendRewrite.setState(mergedItem, config: mergedConfig, pool: "blue", address: Self.a2, to: .drain)
            Issue.record("an entry with a merge key was edited")
        } catch {
            #expect(error.description == "test.yaml:14:9: backend 127.0.0.1:9001 takes keys from a merge key (<<); edit it by hand")
        }
        let poolMerge = sharedHead + "pools:\n  blue: &pool\n    backends:\n      - address: 127.0.0.1:9001\n  green:\n    <<: *pool\n"
        let merged = try ConfigLoader.parse(yaml: poolMerge, file: "test.yaml")
        do {
            _ = try BackendRewrite.add(poolMerge, config: merged, pool: "green", address: Self.a3, weight: nil)
            Issue.record("a merged backends list was edited")
        } catch {
            #expect(error.description.contains("takes its backends from a merge key"), "\(error)")
        }
    }

    @Test func aFileEditedSinceItWasReadIsRefused() throws {
        let original = Self.head + Self.flowItems + Self.tail
        let config = try ConfigLoader.parse(yaml: original, file: "test.yaml")
        let shifted = "# a new first line\n" + original
        for attempt in [
            { try BackendRewrite.add(shifted, config: config, pool: "blue", address: Self.a3, weight: nil) },
            { try BackendRewrite.remove(shifted, config: config, pool: "blue", address: Self.a1) },
            { try BackendRewrite.setState(shifted, config: config, pool: "blue", address: Self.a1, to: .drain) },
            { try BackendRewrite.setWeight(shifted, config: config, pool: "blue", address: Self.a1, to: 3) },
        ] as [() throws -> BackendRewrite.Result] {
            do {
                _ = try attempt()
                Issue.record("a shifted file was edited")
            } catch {
                #expect("\(error)".contains("the file changed since it was read"), "\(error)")
            }
        }
        // A value changed in place: the recorded span no longer holds it.
        let reweighed = original.replacing("weight: 2 }", with: "weight: 5 }")
        do {
            _ = try BackendRewrite.setState(reweighed, config: config, pool: "blue", address: Self.a2, to: .drain)
            Issue.record("an edited file was rewritten")
        } catch {
            #expect(error.description == "test.yaml:14:44: expected '2' there, found '5': the file changed since it was read")
        }
        // A change elsewhere in the file shows up when the result is compared with the old config.
        let rerouted = original.replacing("{ blue: 100, green: 0 }", with: "{ blue: 50, green: 50 }")
        do {
            _ = try BackendRewrite.setState(rerouted, config: config, pool: "blue", address: Self.a2, to: .drain)
            Issue.record("an edited file was rewritten")
        } catch {
            #expect(error.description.contains("would also change: route app"), "\(error)")
        }
    }

    @Test func spansPointAtTheWrittenScalars() throws {
        let config = try ConfigLoader.parse(yaml: Self.head + Self.blockItems + Self.tail, file: "test.yaml")
        let blue = try #require(config.pool(named: "blue"))
        #expect(blue.backendList == BackendListSpans(list: Config.SourceLocation(file: "test.yaml", line: 12, column: 5),
                                                     key: Config.SourceLocation(file: "test.yaml", line: 11, column: 5)))
        let first = try #require(blue.backends[0].spans)
        #expect(first.address.value == "127.0.0.1:9001")
        #expect(first.address.location.line == 12)
        #expect(first.weight?.location == Config.SourceLocation(file: "test.yaml", line: 14, column: 15))
        #expect(first.state == nil)
        let second = try #require(blue.backends[1].spans)
        #expect(second.address.quoting == .double)
        #expect(second.stateKey == Config.SourceLocation(file: "test.yaml", line: 18, column: 9))
        #expect(second.state?.value == "drain")
    }
}

import Config
import Testing

/// `SplitRewrite`: the route's weights and ramp change where they are written, every other byte
/// of the file (comments, blank lines, spacing, line breaks) stays, and anything it cannot edit
/// safely is refused rather than written.
@Suite struct SplitRewriteTests {
    static let head = """
        # cutover for the shop
        listeners:
          - name: web            # public
            listen: 127.0.0.1:8080
            route: app

        """
    static let pools = """

        pools:
          blue:    # live
            backends:
              - address: 127.0.0.1:9001
          green:
            backends:
              - address: 127.0.0.1:9101
          red:
            backends:
              - address: 127.0.0.1:9201

        """

    /// Parses `routes` between the fixed head and pools, switches `app` to `pool`, and returns the
    /// new text's routes part (head and pools must come back untouched).
    func switched(_ routes: String, to pool: String = "green", ramp: String? = nil,
                  sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String {
        let text = Self.head + routes + Self.pools
        let config = try ConfigLoader.parse(yaml: text, file: "test.yaml")
        let result = try SplitRewrite.switchRoute(text, config: config, route: "app", to: pool, ramp: ramp)
        #expect(result.text.hasPrefix(Self.head), sourceLocation: sourceLocation)
        #expect(result.text.hasSuffix(Self.pools), sourceLocation: sourceLocation)
        return String(result.text.dropFirst(Self.head.count).dropLast(Self.pools.count))
    }

    func failure(_ routes: String, to pool: String = "green", ramp: String? = nil) throws -> String {
        let text = Self.head + routes + Self.pools
        let config = try ConfigLoader.parse(yaml: text, file: "test.yaml")
        do {
            let result = try SplitRewrite.switchRoute(text, config: config, route: "app", to: pool, ramp: ramp)
            Issue.record("expected a refusal, got:\n\(result.text)")
            return ""
        } catch {
            return error.description
        }
    }

    @Test func flowStyleKeepsEverythingButTheWeights() throws {
        let routes = """
            routes:
              app:
                pools: { blue: 100, green: 0 }   # the split

                # sticky colour while fractional
                sticky: { cookie: cutover_pool }

            """
        #expect(try switched(routes) == """
            routes:
              app:
                pools: { blue: 0, green: 100 }   # the split

                # sticky colour while fractional
                sticky: { cookie: cutover_pool }

            """)
    }

    @Test func blockStyleWeightsWithCommentsAndBlankLines() throws {
        let routes = """
            routes:
              app:
                # the split
                pools:
                  blue: 100    # live

                  green: 0     # standby
                  red: 0
              other:
                pools: { red: 1 }

            """
        #expect(try switched(routes) == """
            routes:
              app:
                # the split
                pools:
                  blue: 0    # live

                  green: 100     # standby
                  red: 0
              other:
                pools: { red: 1 }

            """)
    }

    @Test func multiDigitWeightsAndQuotingKept() throws {
        #expect(try switched("routes:\n  app:\n    pools: { blue: 5, green: 999999, red: 1 }\n", to: "blue")
                == "routes:\n  app:\n    pools: { blue: 100, green: 0, red: 0 }\n")
        #expect(try switched("routes:\n  app:\n    pools: { blue: \"100\", green: '0' }\n")
                == "routes:\n  app:\n    pools: { blue: \"0\", green: '100' }\n")
    }

    @Test func aSplitAlreadyAtTheTargetComesBackIdentical() throws {
        let routes = "routes:\n  app:\n    pools: { blue: 0, green: 100 }  # done\n"
        #expect(try switched(routes) == routes)
    }

    @Test func rampIsReplacedWhereItIsWritten() throws {
        #expect(try switched("routes:\n  app:\n    pools: { blue: 100, green: 0 }\n    ramp: 0s   # how fast\n", ramp: "1m30s")
                == "routes:\n  app:\n    pools: { blue: 0, green: 100 }\n    ramp: 1m30s   # how fast\n")
        #expect(try switched("routes:\n  app: { ramp: '5s', pools: { blue: 100, green: 0 } }\n", ramp: "30s")
                == "routes:\n  app: { ramp: '30s', pools: { blue: 0, green: 100 } }\n")
    }

    @Test func rampIsInsertedAfterABlockPoolsEntry() throws {
        let routes = """
            routes:
              app:
                sticky:
                  cookie: c
                pools:
                  blue: 100   # live

                  green: 0
                # the override lets us smoke-test
                override:
                  header: X-Pool

            """
        #expect(try switched(routes, ramp: "30s") == """
            routes:
              app:
                sticky:
                  cookie: c
                pools:
                  blue: 0   # live

                  green: 100
                ramp: 30s
                # the override lets us smoke-test
                override:
                  header: X-Pool

            """)
    }

    @Test func rampIsInsertedAfterAFlowPoolsValueSpanningLines() throws {
        let routes = """
            routes:
              app:
                pools: { blue: 100,   # live
                         green: 0 }
              other:
                pools: { red: 1 }

            """
        #expect(try switched(routes, ramp: "10s") == """
            routes:
              app:
                pools: { blue: 0,   # live
                         green: 100 }
                ramp: 10s
              other:
                pools: { red: 1 }

            """)
    }

    @Test func rampIsInsertedAfterAFlowPoolsValueClosedAtTheKeysIndentation() throws {
        let routes = "routes:\n  app:\n    pools: {\n      blue: 100,\n      green: 0\n    }\n    # next\n"
        #expect(try switched(routes, ramp: "1s")
                == "routes:\n  app:\n    pools: {\n      blue: 0,\n      green: 100\n    }\n    ramp: 1s\n    # next\n")
    }

    @Test func poolsFromAMergeKeyAreRewrittenButGetNoInsertedRamp() throws {
        let routes = "routes:\n  app:\n    <<: &base\n      pools: { blue: 100, green: 0 }\n    sticky: { cookie: c }\n"
        #expect(try switched(routes) == "routes:\n  app:\n    <<: &base\n      pools: { blue: 0, green: 100 }\n    sticky: { cookie: c }\n")
        #expect(try failure(routes, ramp: "5s").contains("merge key"))
    }

    @Test func rampIsInsertedBeforeTheBraceOfAFlowRoute() throws {
        #expect(try switched("routes:\n  app: { pools: { blue: 100, green: 0 } }  # one line\n", ramp: "30s")
                == "routes:\n  app: { pools: { blue: 0, green: 100 }, ramp: 30s }  # one line\n")
        let multiLine = "routes:\n  app: {\n    pools: { blue: 100, green: 0 },  # trailing comma\n  }\n"
        #expect(try switched(multiLine, ramp: "2s")
                == "routes:\n  app: {\n    pools: { blue: 0, green: 100 }, ramp: 2s  # trailing comma\n  }\n")
    }

    @Test func crlfFilesGetACRLFLineAndAFileWithoutFinalNewlineStaysSo() throws {
        let text = (Self.head + Self.pools + "routes:\n  app:\n    pools: { blue: 100, green: 0 }")
            .replacing("\n", with: "\r\n")
        let config = try ConfigLoader.parse(yaml: text, file: "test.yaml")
        let result = try SplitRewrite.switchRoute(text, config: config, route: "app", to: "green", ramp: "5s")
        let expected = text.replacing("{ blue: 100, green: 0 }", with: "{ blue: 0, green: 100 }") + "\r\n    ramp: 5s"
        #expect(result.text == expected)
        #expect(result.config.route(named: "app")?.ramp == .seconds(5))
    }

    @Test func theResultCarriesTheSplitBeforeAndAfter() throws {
        let text = Self.head + "routes:\n  app:\n    pools: { blue: 100, green: 0 }\n" + Self.pools
        let config = try ConfigLoader.parse(yaml: text, file: "test.yaml")
        let result = try SplitRewrite.switchRoute(text, config: config, route: "app", to: "green", ramp: nil)
        #expect(result.before.map(\.weight) == [100, 0])
        #expect(result.after.map(\.name) == ["blue", "green"])
        #expect(result.after.map(\.weight) == [0, 100])
        #expect(result.config.route(named: "app")?.pools.map(\.weight) == [0, 100])
    }

    @Test func aFileChangedSinceParsingIsDetected() throws {
        let original = Self.head + "routes:\n  app:\n    pools: { blue: 100, green: 0 }\n" + Self.pools
        let config = try ConfigLoader.parse(yaml: original, file: "test.yaml")
        let route = try #require(config.route(named: "app"))
        let edited = original.replacing("{ blue: 100, green: 0 }", with: "{ blue: 50, green: 50 }")
        #expect(throws: SplitRewrite.Failure.self) {
            try SplitRewrite.rewrite(edited, route: route, weights: [0, 100], ramp: nil)
        }
        let shifted = "# a new first line\n" + original
        do {
            _ = try SplitRewrite.rewrite(shifted, route: route, weights: [0, 100], ramp: nil)
            Issue.record("a shifted file was rewritten")
        } catch {
            #expect(error.description.contains("changed since it was read"), "\(error)")
        }
    }

    @Test func aSharedAnchorIsRefused() throws {
        let routes = "routes:\n  app:\n    pools: &split { blue: 100, green: 0 }\n  other:\n    pools: *split\n"
        #expect(try failure(routes).contains("route other"))
    }

    @Test func unknownPoolsAndBadRampsAreRefused() throws {
        let routes = "routes:\n  app:\n    pools: { blue: 100, green: 0 }\n"
        #expect(try failure(routes, to: "purple").contains("pool 'purple' is not in route 'app'"))
        #expect(try failure(routes, to: "red").contains("its pools: blue, green"))
        #expect(try failure(routes, ramp: "30").contains("not a duration"))
    }

    @Test func spansPointAtTheWrittenScalars() throws {
        let text = Self.head + "routes:\n  app:\n    pools: { blue: 100, green: 0 }\n    ramp: 0s\n" + Self.pools
        let route = try #require(try ConfigLoader.parse(yaml: text, file: "test.yaml").route(named: "app"))
        #expect(route.weightSpans.map(\.location.line) == [8, 8])
        #expect(route.weightSpans.map(\.location.column) == [20, 32])
        #expect(route.weightSpans.map(\.value) == ["100", "0"])
        #expect(route.rampSpan?.location.line == 9)
        #expect(route.rampSpan?.value == "0s")
        #expect(route.rampInsertion?.poolsKey == Config.SourceLocation(file: "test.yaml", line: 8, column: 5))
    }
}

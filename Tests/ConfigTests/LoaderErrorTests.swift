import Config
import Foundation
import Testing

/// Errors that come from reading the file and from the YAML structure itself, before any schema rule.
@Suite struct LoaderErrorTests {
    @Test func yamlSyntaxErrorIsMappedToTheFileLineAndColumn() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                route: app: x
            """
        expectError(yaml, line: 4, column: 15, "invalid YAML: mapping values are not allowed")
    }

    @Test func unclosedFlowMappingIsASyntaxError() {
        let yaml = """
            routes:
              app:
                pools: { blue: 100
            pools: {}
            """
        expectError(yaml, line: 4, column: 6, "invalid YAML")
    }

    @Test func tabIndentationGetsAHint() {
        expectError("listeners:\n\t- name: web\n", line: 2, column: 1, "YAML indentation must use spaces, not tabs")
    }

    @Test func aSecondDocumentIsAnError() {
        expectError(minimalConfig + "---\nworkers: 2\n", line: 12, column: 1,
                    "invalid YAML: a second document ('---') starts here")
    }

    @Test func missingFileReportsTheOSReasonAtLineOneColumnOne() {
        let path = "/nonexistent-\(UInt32.random(in: 0...UInt32.max))/cutover.yaml"
        #expect {
            _ = try ConfigLoader.load(file: path)
        } throws: { error in
            "\(error)" == "\(path):1:1: cannot read the file: No such file or directory"
        }
    }

    @Test func directoryIsNotAConfigFile() {
        #expect {
            _ = try ConfigLoader.load(file: "/")
        } throws: { error in
            "\(error)" == "/:1:1: cannot read the file: Is a directory"
        }
    }

    @Test func loadReadsAFileAndNamesItInTheResultAndInErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cutover-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.yaml").path
        try minimalConfig.write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try ConfigLoader.load(file: good).file == good)

        let bad = directory.appendingPathComponent("bad.yaml").path
        try (minimalConfig + "listner: x\n").write(toFile: bad, atomically: true, encoding: .utf8)
        #expect {
            _ = try ConfigLoader.load(file: bad)
        } throws: { error in
            "\(error)".hasPrefix("\(bad):12:1: unknown key 'listner'")
        }
    }

    @Test(arguments: ["", "# nothing but a comment\n", "~\n"])
    func emptyDocumentIsAnError(yaml: String) {
        expectError(yaml, line: 1, column: 1, "the configuration is empty")
    }

    @Test func rootMustBeAMapping() {
        expectError("- web\n- app\n", line: 1, column: 1, "expected a mapping, found a list")
    }

    @Test func duplicateKeyIsReportedAtTheSecondOccurrence() {
        let yaml = minimalConfig + """
            routes:
              other:
                pools: { blue: 1 }
            """
        expectError(yaml, line: 12, column: 1, "duplicate key 'routes' at the top level (first defined on line 5)")
    }

    @Test func duplicateKeyInANestedMapping() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                route: app
                name: api
            """
        expectError(yaml, line: 5, column: 5, "duplicate key 'name' in listeners[0]")
    }

    @Test func unknownTopLevelKeySuggestsTheClosestKey() {
        expectError(minimalConfig + "listner: x\n", line: 12, column: 1,
                    "unknown key 'listner' at the top level (did you mean 'listeners'?)")
    }

    @Test func unknownKeyWithNothingCloseHasNoSuggestion() {
        let yaml = minimalConfig + "frobnicate: true\n"
        expectError(yaml, line: 12, column: 1, "unknown key 'frobnicate' at the top level")
        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: testFile)
        } catch {
            #expect(!error.message.contains("did you mean"))
        }
    }

    @Test func missingRequiredTopLevelKeyPointsAtTheDocument() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                route: app
            routes:
              app:
                pools: { blue: 100 }
            """
        expectError(yaml, line: 1, column: 1, "missing required key 'pools' at the top level")
    }

    @Test func missingRequiredKeyPointsAtItsMapping() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
            """
        expectError(yaml, line: 2, column: 5, "missing required key 'route' in listeners[0]")
    }

    @Test func keysMustBePlainScalars() {
        let yaml = minimalConfig + "? [a, b]\n: c\n"
        expectError(yaml, line: 12, column: 3, "keys at the top level must be plain names, found a list")
    }

    @Test func sectionOfTheWrongShapeNamesWhatWasExpected() {
        expectError(minimalConfig + "timeouts: 5s\n", line: 12, column: 11,
                    "invalid 'timeouts': expected a mapping, found '5s'")
        expectError(minimalConfig + "admin:\n", line: 12, column: 7,
                    "invalid 'admin': expected a mapping, found nothing")
    }

    @Test func mergeKeysShareAnAnchoredBlockAndExplicitKeysWin() throws {
        let yaml = headBeforePools + """
            pools:
              blue:
                health_check: &checks
                  path: /healthz
                  interval: 5s
                backends:
                  - address: 127.0.0.1:9001
              green:
                health_check:
                  <<: *checks
                  interval: 1s
                backends:
                  - address: 127.0.0.1:9101
            """
        let config = try #require(parseValid(yaml))
        let green = try #require(config.pool(named: "green")?.healthCheck)
        #expect(green.path == "/healthz")
        #expect(green.interval == .seconds(1))
        #expect(config.pool(named: "blue")?.healthCheck?.interval == .seconds(5))
    }

    @Test func mergedUnknownKeysAreReportedWhereTheyWereWritten() {
        let yaml = headBeforePools + """
            pools:
              blue:
                backends:
                  - &backend
                    address: 127.0.0.1:9001
              green:
                health_check:
                  <<: *backend
                backends:
                  - address: 127.0.0.1:9101
            """
        expectError(yaml, line: 12, column: 9, "unknown key 'address' in pools.green.health_check")
    }
}

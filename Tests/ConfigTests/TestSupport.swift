import Config
import Testing

/// The file name every in-memory test config claims to come from.
let testFile = "test.yaml"

/// Parses `yaml` as `test.yaml`, recording an issue (and returning nil) if it is rejected.
func parseValid(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> CutoverConfig? {
    do {
        return try ConfigLoader.parse(yaml: yaml, file: testFile)
    } catch {
        Issue.record("unexpected error: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Asserts that `yaml` is rejected at exactly `line`:`column` of `test.yaml` with a message that
/// contains `fragment`.
func expectError(_ yaml: String, line: Int, column: Int, _ fragment: String,
                 sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    do {
        let config = try ConfigLoader.parse(yaml: yaml, file: testFile)
        Issue.record("expected an error containing \"\(fragment)\", but parsed: \(config.listeners.map(\.name))",
                     sourceLocation: sourceLocation)
    } catch {
        #expect(error.description.hasPrefix("\(testFile):\(line):\(column): "),
                "got \(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(fragment), "got \(error)", sourceLocation: sourceLocation)
    }
}

/// The smallest valid config: one listener, one route, one pool with one backend (11 lines).
/// Tests append sections to it; appended text starts on line 12.
let minimalConfig = """
    listeners:
      - name: web
        listen: 127.0.0.1:8080
        route: app
    routes:
      app:
        pools: { blue: 100 }
    pools:
      blue:
        backends:
          - address: 127.0.0.1:9001

    """

/// A listener and a route sending everything to pool `blue` (7 lines); tests append `pools:` from
/// line 8 on.
let headBeforePools = """
    listeners:
      - name: web
        listen: 127.0.0.1:8080
        route: app
    routes:
      app:
        pools: { blue: 100 }

    """

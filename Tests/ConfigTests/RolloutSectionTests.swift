import Config
import Testing

/// `routes.NAME.rollout` and `state_dir`. Every literal starts with the 4-line listener of
/// `RouteTests`, so `routes:` is line 5, `app:` line 6, `pools:` line 7 and `rollout:` line 8.
@Suite struct RolloutSectionTests {
    static func yaml(_ rollout: String, top: String = "") -> String {
        RouteTests.listener + """
            routes:
              app:
                pools: { blue: 100, green: 0 }
                rollout:
            \(rollout.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n"))

            """ + RouteTests.pools + "\n" + top
    }

    @Test func everyKeyIsRead() throws {
        let config = try #require(parseValid(Self.yaml("""
            steps: [1, 5, 25, 50, 100]
            step_duration: 5m
            min_requests: 500
            interval: 10s
            warmup: 30s
            checks:
              error_rate: { max_ratio: 2, max_increase: 0.5%, max: 5% }
              latency: { quantile: 0.99, max_ratio: 1.3, max: 800ms }
            confidence: 99%
            on_failure: pause
            gates: [50]
            notify: http://127.0.0.1:9000/hooks/deploy
            """, top: "state_dir: /var/lib/cutover\n")))
        let rollout = try #require(config.route(named: "app")?.rollout)
        #expect(rollout.steps == [1, 5, 25, 50, 100])
        #expect(rollout.stepDuration == .seconds(300))
        #expect(rollout.minRequests == 500)
        #expect(rollout.interval == .seconds(10))
        #expect(rollout.warmup == .seconds(30))
        #expect(rollout.errorRate == ErrorRateCheckConfig(maxRatio: 2, maxIncrease: 0.005, max: 0.05))
        #expect(rollout.latency == LatencyCheckConfig(quantile: 0.99, maxRatio: 1.3, max: .milliseconds(800)))
        #expect(rollout.confidence == 0.99)
        #expect(rollout.onFailure == .pause)
        #expect(rollout.gates == [50])
        #expect(rollout.notify == NotifyTarget(host: "127.0.0.1", port: 9000, path: "/hooks/deploy"))
        #expect(config.stateDirectory == "/var/lib/cutover")
    }

    @Test func anEmptyPolicyTakesTheDefaults() throws {
        let config = try #require(parseValid(Self.yaml("{}")))
        let rollout = try #require(config.route(named: "app")?.rollout)
        #expect(rollout == RolloutConfig())
        #expect(rollout.steps == [1, 5, 25, 50, 100])
        #expect(rollout.errorRate != nil && rollout.latency != nil)
        #expect(config.stateDirectory == ".", "a bare file name: state next to it")
        #expect(config.route(named: "app")?.rollout != nil)
    }

    @Test func namedChecksReplaceTheDefaults() throws {
        let config = try #require(parseValid(Self.yaml("checks: { error_rate: { max: 2% } }")))
        let rollout = try #require(config.route(named: "app")?.rollout)
        #expect(rollout.errorRate == ErrorRateCheckConfig(maxRatio: nil, maxIncrease: nil, max: 0.02))
        #expect(rollout.latency == nil)
    }

    @Test func badValuesNameTheirPlace() {
        expectError(Self.yaml("steps: [5, 5]"), line: 9, column: 18, "steps must increase")
        expectError(Self.yaml("steps: [0, 5]"), line: 9, column: 15, "between 1 and 100")
        expectError(Self.yaml("steps: [50, 101]"), line: 9, column: 19, "between 1 and 100")
        expectError(Self.yaml("steps: []"), line: 9, column: 14, "must not be empty")
        expectError(Self.yaml("gates: [30]"), line: 9, column: 15, "30 is not one of the steps")
        expectError(Self.yaml("confidence: 100%"), line: 9, column: 19, "above 50% and below 100%")
        expectError(Self.yaml("confidence: 40%"), line: 9, column: 19, "above 50% and below 100%")
        expectError(Self.yaml("confidence: lots"), line: 9, column: 19, "a percentage like 5%")
        expectError(Self.yaml("interval: 10ms"), line: 9, column: 17, "at least 100ms")
        expectError(Self.yaml("on_failure: retry"), line: 9, column: 19, "'rollback', 'pause'")
        expectError(Self.yaml("notify: https://hooks.example.com/x"), line: 9, column: 15, "must be an http:// URL")
        expectError(Self.yaml("checks: { error_rate: { max_ratio: 0.5 } }"), line: 9, column: 42, "from 1 to 1000")
        expectError(Self.yaml("checks: { error_rate: { max: 150% } }"), line: 9, column: 36, "from 0% to 100%")
        expectError(Self.yaml("checks: { latency: { quantile: 0.3 } }"), line: 9, column: 38, "from 0.5 to 0.999")
        expectError(Self.yaml("checks: { latency: { quantile: 0.99 } }"), line: 9, column: 26, "give max_ratio or max")
        expectError(Self.yaml("checks: {}"), line: 9, column: 15, "name at least one check")
        expectError(Self.yaml("step: [1, 2]"), line: 9, column: 7, "unknown key 'step' in routes.app.rollout (did you mean 'steps'?)")
        expectError(Self.yaml("checks: { errors: {} }"), line: 9, column: 17, "unknown key 'errors'")
    }

    @Test func aPolicyChangeIsAChangeOfTheRoute() throws {
        let before = try #require(parseValid(Self.yaml("steps: [10, 100]")))
        let after = try #require(parseValid(Self.yaml("steps: [20, 100]")))
        #expect(describeChanges(from: before, to: after) == ["route app: rollout policy changed"])
        #expect(describeChanges(from: before, to: before).isEmpty)
    }
}

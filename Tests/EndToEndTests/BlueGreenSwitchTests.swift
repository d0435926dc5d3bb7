import Foundation
import Glibc
import Testing

/// Issue 4: blue → green → blue switches under continuous load drop nothing and, once a reload has
/// returned, send no new request to the old colour; requests in flight at a switch finish on the
/// colour that took them; a rejected reload leaves the old config serving.
@Suite struct BlueGreenSwitchTests {
    static let blueOnly = [("blue", 100), ("green", 0)]
    static let greenOnly = [("blue", 0), ("green", 100)]

    /// How one switch is asked for.
    enum Trigger: CustomStringConvertible {
        /// `POST /reload`: returns once every worker has the new snapshot.
        case api
        /// SIGHUP, then `/status` polled until it shows the new generation (published only after
        /// every worker has the snapshot).
        case signal
        /// `cutover reload -c FILE`.
        case command

        var description: String {
            switch self {
            case .api: "POST /reload"
            case .signal: "SIGHUP"
            case .command: "cutover reload"
            }
        }
    }

    struct Switch {
        var colour: String
        var trigger: Trigger
        /// CLOCK_MONOTONIC when the switch was asked for, and when it was known to be in place.
        var asked: UInt64
        var returned: UInt64
    }

    @Test func hundredSwitchesUnderLoadDropNothingAndNoNewRequestReachesTheOldColour() async throws {
        let s = try await ColourBed.start(Self.blueOnly, workers: 2)
        defer { s.bed.tearDown() }
        let load = try LoadGenerator.start(port: s.port, keepAlive: 3, fresh: 3, limit: .seconds(40), in: s.bed.directory)
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await s["blue"].counts().heads >= 20 }

        var switches: [Switch] = []
        var problems: [String] = []
        for i in 0..<100 {
            let colour = i % 2 == 0 ? "green" : "blue"
            let trigger: Trigger = i % 10 == 9 ? .command : (i % 4 < 2 ? .api : .signal)
            let config = s.config(colour == "green" ? Self.greenOnly : Self.blueOnly)
            let generation = i + 2
            let asked = monotonicNanoseconds()
            switch trigger {
            case .api:
                let (response, _) = try await s.reload(config)
                if response.status != 200 { problems.append("switch \(i): POST /reload answered \(response.status) \(response.bodyText)") }
            case .signal:
                try s.proxy.reload(config.yaml)
                try await waitUntil("/status shows generation \(generation)", every: .milliseconds(1)) {
                    try await s.generation() >= generation
                }
            case .command:
                try s.write(config.yaml)
                let result = try await CutoverBinary.run(["reload", "-c", s.proxy.configURL.path], in: s.bed.directory)
                if result.status != 0 { problems.append("switch \(i): cutover reload exited \(result.status): \(result.stderr)") }
            }
            let returned = monotonicNanoseconds()
            switches.append(Switch(colour: colour, trigger: trigger, asked: asked, returned: returned))
            // The next switch waits until the load has visibly moved: with at most 6 requests
            // outstanding, 8 more heads at the new colour mean some were sent after `returned`.
            let base = try await s[colour].counts().heads
            try await waitUntil("\(colour) takes load after switch \(i)", every: .milliseconds(1)) {
                try await s[colour].counts().heads >= base + 8
            }
        }
        let stopped = monotonicNanoseconds()
        let report = try await load.stop()

        #expect(problems.count == 0, "\(problems)")
        #expect(try await s.generation() == 101)
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        #expect(report.outcomes["reset", default: 0] == 0)
        #expect(report.outcomes["refused", default: 0] == 0)
        #expect(report.count(.keepAlive) >= 100 && report.count(.fresh) >= 100,
                "keep-alive \(report.count(.keepAlive)), new-connection \(report.count(.fresh))")

        // Each switch's window runs from its return to the next switch being asked for: every
        // request sent and answered in it went to the switch's colour. (One sent in it but
        // answered after the next switch was asked may rightly have been routed by that one: the
        // proxy reads a request when it gets to it, not when the client sent it.)
        var wrong: [String] = []
        var emptyWindows: [Int] = []
        for (i, sw) in switches.enumerated() {
            let end = i + 1 < switches.count ? switches[i + 1].asked : stopped
            let window = report.records.filter { $0.sent > sw.returned && $0.done < end }
            if window.isEmpty { emptyWindows.append(i) }
            for record in window where record.succeeded && record.backend != sw.colour {
                wrong.append("switch \(i) to \(sw.colour) by \(sw.trigger): request sent \((Int64(record.sent) - Int64(sw.returned)) / 1000) µs "
                             + "after it returned answered by \(record.backend) (\(record))")
            }
        }
        #expect(wrong.count == 0, "requests reached the old colour: \(wrong.prefix(5))")
        #expect(emptyWindows.count == 0, "switches with no request sent after they returned: \(emptyWindows)")
    }

    @Test func requestsInFlightAtASwitchCompleteOnTheColourThatTookThem() async throws {
        let s = try await ColourBed.start(Self.blueOnly, workers: 2)
        defer { s.bed.tearDown() }
        let slow = ColourBed.request("/slow?ms=2000")

        // Three 2-second requests on blue, each on a keep-alive connection of its own.
        let onBlue = try (0..<3).map { _ in try RawClient(port: s.port) }
        for client in onBlue { try client.send(slow) }
        try await waitUntil("blue has the three slow requests") { try await s["blue"].counts().heads == 3 }

        let toGreen = try await s.reload(s.config(Self.greenOnly))
        #expect(toGreen.response.status == 200, "\(toGreen.response.bodyText)")
        #expect(try await s.get().answeredBy == "green")

        // Three more on green, then back to blue while all six are still running.
        let onGreen = try (0..<3).map { _ in try RawClient(port: s.port) }
        for client in onGreen { try client.send(slow) }
        try await waitUntil("green has the three slow requests") { try await s["green"].counts().heads == 4 }
        let toBlue = try await s.reload(s.config(Self.blueOnly))
        #expect(toBlue.response.status == 200, "\(toBlue.response.bodyText)")
        #expect(try await s.get().answeredBy == "blue")

        for (client, colour) in zip(onBlue + onGreen, ["blue", "blue", "blue", "green", "green", "green"]) {
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("X-Backend") == colour)
            #expect(response.bodyText == "slow")
            // The same connection's next request is routed under the config now in force.
            try client.send(ColourBed.request())
            #expect(try await client.readResponse().answeredBy == "blue")
        }
        #expect(try await s.heads() == ["blue": 3 + 1 + 6, "green": 4])
    }

    /// AdminTests and ReloadTests cover an unknown key (API, command, SIGHUP). This covers a
    /// semantic error and a YAML syntax error, while load runs, through `cutover reload` and the API.
    @Test func rejectedReloadsUnderLoadKeepTheOldConfigServing() async throws {
        let s = try await ColourBed.start(Self.blueOnly, workers: 2)
        defer { s.bed.tearDown() }
        let load = try LoadGenerator.start(port: s.port, keepAlive: 2, fresh: 2, limit: .seconds(30), in: s.bed.directory)
        defer { load.kill() }
        try await waitUntil("the load reaches blue") { try await s["blue"].counts().heads >= 20 }
        let file = s.proxy.configURL.path

        // A switch to a pool name with a typo: the route names a pool that does not exist.
        let typo = s.config(Self.greenOnly).yaml.replacingOccurrences(of: "green: 100 }", with: "grene: 100 }")
        let typoLines = typo.split(separator: "\n", omittingEmptySubsequences: false)
        let typoLine = try #require(typoLines.firstIndex { $0.contains("grene: 100") })
        let typoColumn = typoLines[typoLine].distance(from: typoLines[typoLine].startIndex,
                                                      to: typoLines[typoLine].range(of: "grene")!.lowerBound)
        try s.write(typo)
        let rejected = try await CutoverBinary.run(["reload", "-c", file], in: s.bed.directory)
        #expect(rejected.status == 1, "\(rejected.stdout) \(rejected.stderr)")
        #expect(rejected.stderr.contains("\(file):\(typoLine + 1):\(typoColumn + 1): pool 'grene' is not defined"),
                "\(rejected.stderr)")

        // An unclosed flow mapping: the YAML parser's own error, with its position.
        let broken = s.config(Self.greenOnly).yaml.replacingOccurrences(of: "green: 100 }", with: "green: 100")
        let brokenLine = try #require(broken.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains("green: 100") }) + 1
        try s.write(broken)
        let response = try await s.admin("POST", "/reload")
        #expect(response.status == 422, "\(response.bodyText)")
        let answer = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let error = answer?["error"] as? String ?? ""
        #expect(answer?["ok"] as? Bool == false)
        // The parser notices on the open mapping's line or the next one.
        let position = error.hasPrefix("\(file):") ? error.dropFirst(file.count + 1).split(separator: ":").prefix(2).compactMap { Int($0) } : []
        #expect(position.count == 2 && (brokenLine...brokenLine + 1).contains(position[0]) && position[1] >= 1,
                "expected \(file):\(brokenLine)-\(brokenLine + 1):COLUMN: in \(error)")
        #expect(error.contains("invalid YAML"), "\(error)")

        // Both were rejected; blue kept every request, nothing failed meanwhile.
        let status = try await s.status()
        #expect(status["generation"] as? Int == 1)
        #expect((status["last_reload"] as? [String: Any])?["error"] as? String == error)
        #expect(try await s.get().answeredBy == "blue")
        let report = try await load.stop()
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        #expect(report.backends.keys.sorted() == ["blue"], "\(report.backends)")
        #expect(try await s["green"].counts().heads == 0)

        // The fixed file applies.
        try s.write(s.config(Self.greenOnly).yaml)
        let applied = try await CutoverBinary.run(["reload", "-c", file], in: s.bed.directory)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("reloaded: generation 2"), "\(applied.stdout)")
        #expect(try await s.get().answeredBy == "green")
    }
}

import Foundation
import Testing

/// `cutover check` of a route's `rollout:` section: a valid one passes; each bad value is a config
/// error `FILE:LINE:COLUMN: message` pointing at the value (or the unknown key), exit 1.
@Suite struct RolloutConfigTests {
    /// A config with route `app`'s rollout section as `RolloutYAML` writes it (nothing runs).
    static func yaml(_ policy: RolloutYAML = RolloutYAML()) -> String {
        ProxyConfig.http(port: 18080, split: [("blue", 100), ("green", 0)], pools: [
            .init(name: "blue", backends: [(19001, 1)]),
            .init(name: "green", backends: [(19101, 1)]),
        ]).withAdmin(port: 19901).adding(route: "app", lines: policy.lines).yaml
    }

    struct Case: CustomStringConvertible {
        /// The whole line as `yaml()` writes it (without a notify line unless the policy has one).
        var line: String
        var replacement: String
        /// Where the error may point: the start of any of these in the replacement line.
        var at: [String]
        /// Words the message must hold (case-insensitive); empty: any message.
        var words: [String] = []
        var description: String { "\(replacement.trimmingCharacters(in: .whitespaces))" }
    }

    static let specified: [Case] = [
        Case(line: "      steps: [10, 50, 100]", replacement: "      steps: [10, 5, 100]", at: ["[10", "5, 100"], words: ["increas"]),
        Case(line: "      steps: [10, 50, 100]", replacement: "      steps: [0, 50, 100]", at: ["[0", "0, 50"]),
        Case(line: "      steps: [10, 50, 100]", replacement: "      steps: [10, 50, 150]", at: ["[10", "150"], words: ["100"]),
        Case(line: "      confidence: 99%", replacement: "      confidence: 50%", at: ["50%"], words: ["confidence"]),
        Case(line: "      confidence: 99%", replacement: "      confidence: 100%", at: ["100%"], words: ["confidence"]),
        Case(line: "      step_duration: 1s", replacement: "      step_duraton: 1s", at: ["step_duraton"],
             words: ["unknown key 'step_duraton'"]),
        Case(line: "        error_rate: { max_ratio: 2, max_increase: 0.5%, max: 5% }",
             replacement: "        error_rate: { max_ratio: 2, maximum: 5% }", at: ["maximum"], words: ["unknown key 'maximum'"]),
        Case(line: "      notify: http://127.0.0.1:9/hook", replacement: "      notify: ftp://127.0.0.1:9/hook", at: ["ftp"],
             words: ["http://"]),
        Case(line: "      on_failure: rollback", replacement: "      on_failure: explode", at: ["explode"], words: ["rollback", "pause"]),
    ]

    /// Not spelled out in the interface, but values no policy can mean.
    static let implied: [Case] = [
        Case(line: "      gates: [50]", replacement: "      gates: [30]", at: ["[30", "30"]),
        Case(line: "        latency: { quantile: 0.99, max_ratio: 1.3, max: 800ms }",
             replacement: "        latency: { quantile: 1.5, max_ratio: 1.3, max: 800ms }", at: ["1.5"], words: ["quantile"]),
        Case(line: "      step_duration: 1s", replacement: "      step_duration: fast", at: ["fast"]),
        Case(line: "      interval: 250ms", replacement: "      interval: 0s", at: ["0s"]),
        Case(line: "      min_requests: 20", replacement: "      min_requests: -5", at: ["-5"]),
        Case(line: "      steps: [10, 50, 100]", replacement: "      steps: [10, 50, 50, 100]", at: ["[10", "50, 100"]),
    ]

    static var policy: RolloutYAML {
        var policy = RolloutYAML()
        policy.gates = [50]
        policy.notify = "http://127.0.0.1:9/hook"
        return policy
    }

    @Test func aValidRolloutSectionPasses() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        var variants = [Self.yaml(Self.policy), Self.yaml()]
        var other = RolloutYAML()
        other.confidence = "99.9%"
        other.onFailure = "pause"
        other.latency = nil
        other.steps = [1, 5, 25, 100]
        other.gates = [25, 100]
        variants.append(Self.yaml(other))
        for (i, text) in variants.enumerated() {
            let file = bed.directory.appendingPathComponent("valid-\(i).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let result = try await CutoverBinary.run(["check", "-c", file.path], in: bed.directory)
            #expect(result.status == 0, "\(text)\n\(result.stderr)")
            #expect(result.stdout.hasSuffix("\(file.path): OK\n"), "\(result.stdout)")
        }
    }

    @Test(arguments: specified + implied)
    func aBadValueIsAnErrorAtItsPosition(_ bad: Case) async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let base = Self.yaml(Self.policy)
        var lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let index = try #require(lines.firstIndex(of: bad.line), "no line \(bad.line) in \(base)")
        lines[index] = bad.replacement
        let file = bed.directory.appendingPathComponent("bad.yaml")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)

        let result = try await CutoverBinary.run(["check", "-c", file.path], in: bed.directory)
        #expect(result.status == 1, "\(bad): \(result)")
        #expect(!result.stdout.contains("OK"), "\(result.stdout)")
        let first = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
        let columns = bad.at.compactMap { marker in
            bad.replacement.range(of: marker).map { bad.replacement.distance(from: bad.replacement.startIndex, to: $0.lowerBound) + 1 }
        }
        let prefixes = columns.map { "\(file.path):\(index + 1):\($0): " }
        #expect(prefixes.contains { first.hasPrefix($0) }, "\(bad): expected one of \(prefixes) in: \(result.stderr)")
        for word in bad.words {
            #expect(first.lowercased().contains(word.lowercased()), "\(bad): '\(word)' missing from: \(first)")
        }
    }
}

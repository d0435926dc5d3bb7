import Foundation

/// One `/metrics` answer, checked by both real parsers: `promtool check metrics` (Prometheus's
/// own linter) and the reference Python client's parser, whose samples the tests then read.
struct MetricsScrape {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let text: String
    let samples: [Sample]

    /// Fetches and parses `/metrics`; throws with the parsers' complaints if either rejects it.
    static func fetch(adminPort: UInt16, in directory: URL) async throws -> MetricsScrape {
        let client = try RawClient(port: adminPort)
        try client.send("GET /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
        let response = try await client.readResponse()
        guard response.status == 200 else { throw ChildFailure("/metrics answered \(response.status)") }
        let file = directory.appendingPathComponent("metrics-\(UUID().uuidString.prefix(8)).txt")
        try Data(response.body).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let lint = try await run("/usr/bin/promtool", ["check", "metrics"], stdin: file, in: directory)
        guard lint.status == 0 else { throw ChildFailure("promtool check metrics: \(lint.stdout)\(lint.stderr)") }
        guard let parser = Bundle.module.url(forResource: "parse_metrics", withExtension: "py", subdirectory: "Fixtures") else {
            throw ChildFailure("Fixtures/parse_metrics.py is missing from the test bundle")
        }
        let parsed = try await run("/usr/bin/env", ["python3", parser.path], stdin: file, in: directory)
        guard parsed.status == 0 else { throw ChildFailure("prometheus_client parser: \(parsed.stderr)") }
        let samples = try parsed.stdout.split(separator: "\n").map { line -> Sample in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let name = object["name"] as? String, let labels = object["labels"] as? [String: String],
                  let value = object["value"] as? Double else { throw ChildFailure("unexpected parser line: \(line)") }
            return Sample(name: name, labels: labels, value: value)
        }
        return MetricsScrape(text: response.bodyText, samples: samples)
    }

    /// The value of the one sample named `name` whose labels include `labels`; nil if none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = matches(name, labels)
        return matching.count == 1 ? matching[0].value : nil
    }

    /// The sum over every sample named `name` whose labels include `labels`.
    func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        matches(name, labels).reduce(0) { $0 + $1.value }
    }

    private func matches(_ name: String, _ labels: [String: String]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    private static func run(_ tool: String, _ arguments: [String], stdin: URL, in directory: URL) async throws
        -> (status: Int32, stdout: String, stderr: String) {
        // The shell feeds the file: ChildProcess keeps stdin for its own lifetime pipe.
        let command = ([tool] + arguments).map { "'\($0)'" }.joined(separator: " ") + " < '\(stdin.path)'"
        let child = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", command], label: "metrics-check", in: directory)
        defer { child.kill() }
        let status = try await child.waitForExit(timeout: .seconds(30))
        return (status, child.stdoutText, child.stderrText)
    }
}

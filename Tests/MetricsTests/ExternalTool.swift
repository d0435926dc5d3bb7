import Foundation
import Testing

/// Runs the real Prometheus parsers (promtool, Python's prometheus_client) on a text the tests
/// rendered. Both are installed by `scripts/test`; a missing one fails the test with a message
/// saying so, never skips it.
enum ExternalTool {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let promtool = "/usr/bin/promtool"

    /// Writes `text` to a fresh temporary file and returns its path; the caller removes it.
    static func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("cutover-metrics-\(UUID().uuidString).prom").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs `executable` with `arguments`, `stdinFile` (if any) as its standard input, and waits.
    static func run(_ executable: String, _ arguments: [String], stdinFile: String? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdinFile {
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdinFile))
        }
        try process.run()
        // Both outputs are small (a lint report, a JSON of a few dozen samples): reading one to
        // the end before the other cannot fill the other's pipe.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// `promtool check metrics < file`: parses the exposition and lints it.
    static func promtoolCheck(_ path: String) throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            throw Failure(message: "\(promtool) not found: install Debian's 'prometheus' package (scripts/test does)")
        }
        return try run(promtool, ["check", "metrics"], stdinFile: path)
    }

    /// One metric family as `prometheus_client.parser.text_string_to_metric_families` reads it.
    struct Family: Decodable {
        var name: String
        var type: String
        var help: String
        var samples: [Sample]
    }

    struct Sample: Decodable {
        var name: String
        var labels: [String: String]
        /// Python's `repr` of the float ("1.0", "inf"), so non-finite values survive JSON.
        var value: String
    }

    private static let parserScript = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        with open(sys.argv[1], encoding="utf-8") as f:
            families = list(text_string_to_metric_families(f.read()))
        print(json.dumps([{"name": f.name, "type": f.type, "help": f.documentation,
                           "samples": [{"name": s.name, "labels": s.labels, "value": repr(s.value)}
                                       for s in f.samples]} for f in families]))
        """

    /// The families Python's prometheus_client parser reads from the file at `path`.
    static func pythonParse(_ path: String) throws -> [Family] {
        let result = try run("/usr/bin/env", ["python3", "-c", parserScript, path])
        guard result.status == 0 else {
            let hint = result.stderr.contains("No module named") ? " (install it: scripts/test does, with pip)" : ""
            throw Failure(message: "python3's prometheus_client parser exited \(result.status)\(hint): \(result.stderr)")
        }
        return try JSONDecoder().decode([Family].self, from: Data(result.stdout.utf8))
    }

    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

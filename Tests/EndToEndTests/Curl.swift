import Foundation

/// What one run of curl produced.
struct CurlResult {
    var exitCode: Int32
    var stdout: Data
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
    var lines: [String] { text.split(separator: "\n").map(String.init) }
}

/// Runs `/usr/bin/curl -sS <arguments>` and waits (without blocking a thread) for it to finish.
/// Its output goes through files in `directory`, so large outputs never stall on a pipe.
func curl(_ arguments: [String], in directory: URL, timeout: Duration = .seconds(60)) async throws -> CurlResult {
    let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/curl"), ["-sS"] + arguments, label: "curl", in: directory)
    defer {
        child.kill()
        try? FileManager.default.removeItem(at: child.stdoutURL)
        try? FileManager.default.removeItem(at: child.stderrURL)
    }
    let code = try await child.waitForExit(timeout: timeout)
    return CurlResult(exitCode: code, stdout: try Data(contentsOf: child.stdoutURL), stderr: child.stderrText)
}

/// `-w` format fields for one transfer, one line per URL.
enum CurlFormat {
    /// `status backend conn connects`: the status, the X-Backend and X-Conn the backend sent, and
    /// how many new connections curl opened for this transfer (0 = reused).
    static let exchange = "%{http_code} %header{x-backend} %header{x-conn} %{num_connects}\\n"
}

/// One line of `CurlFormat.exchange`.
struct Exchange: Equatable {
    var status: Int
    var backend: String
    var upstreamConnection: String
    var newClientConnections: Int

    init(line: String) throws {
        let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4, let status = Int(fields[0]), let connects = Int(fields[3]) else {
            throw ChildFailure("unexpected curl -w line: \(line)")
        }
        self.status = status
        backend = fields[1]
        upstreamConnection = fields[2]
        newClientConnections = connects
    }
}

/// Sends `count` GETs of `path` with one curl, which reuses one client connection for them all,
/// and returns what each one got.
func curlSequence(port: UInt16, path: String = "/", count: Int, in directory: URL,
                  extra: [String] = []) async throws -> [Exchange] {
    var arguments = extra + ["-w", CurlFormat.exchange]
    for _ in 0..<count { arguments += ["http://127.0.0.1:\(port)\(path)", "-o", "/dev/null"] }
    let result = try await curl(arguments, in: directory)
    guard result.exitCode == 0 else { throw ChildFailure("curl exited \(result.exitCode): \(result.stderr)") }
    return try result.lines.map(Exchange.init(line:))
}

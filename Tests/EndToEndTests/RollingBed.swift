import Foundation
import Glibc
import Testing

/// A proxy with the admin API in front of one pool `blue`, run from a config file written as an
/// operator would (comments above, inside and below the pool, trailing comments on entries), for
/// the backend commands (`cutover backend …`, `cutover roll`) and `POST /backends/…`. The proxy
/// is its own `cutover run -c FILE` (not `ProxyProcess`), so it can be stopped and started again
/// on the very file the commands edited.
final class RollingBed: @unchecked Sendable {
    let bed: TestBed
    let port: UInt16
    let adminPort: UInt16
    let token: String?
    let file: URL
    /// The file as the test wrote it.
    let original: String
    private let lock = NSLock()
    private var running: ChildProcess

    var proxy: ChildProcess { lock.withLock { running } }
    var directory: URL { bed.directory }

    /// Health checks on `path` every 100 ms, rise 1, fall 2: a backend is healthy within a few
    /// hundred milliseconds, and one that stops answering is out as quickly.
    static func check(path: String = "/count", interval: String = "100ms", rise: Int = 1, fall: Int = 2) -> [String] {
        ["health_check:", "  type: http", "  path: \(path)", "  interval: \(interval)", "  timeout: 100ms",
         "  rise: \(rise)", "  fall: \(fall)", "  expect_status: 200"]
    }

    /// The config file: `entries` are the backend lines as written (indentation included).
    static func yaml(port: UInt16, adminPort: UInt16, token: String?, entries: [String], poolLines: [String]) -> String {
        var lines = [
            "# rolling tests: the operator's notes at the top must survive every edit",
            "workers: 1",
            "admin:",
            "  listen: 127.0.0.1:\(adminPort)",
        ]
        if let token { lines.append("  token: \(token)") }
        lines += [
            "listeners:",
            "  - name: web",
            "    listen: 127.0.0.1:\(port)",
            "    protocol: http",
            "    route: app",
            "",
            "routes:",
            "  app:",
            "    pools: { blue: 100 }   # only one pool here",
            "",
            "pools:",
            "  blue:",
            "    # the app servers, one per line; cutover edits this list",
            "    backends:",
        ]
        lines += entries
        lines += poolLines.map { "    " + $0 }
        lines += [
            "",
            "timeouts:",
            "  connect: 1s",
            "  shutdown: 5s",
            "# end of file: keep this line",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// A flow-style entry with a trailing comment, as most operators write them.
    static func entry(_ port: UInt16, weight: Int = 1, comment: String? = nil) -> String {
        "      - { address: 127.0.0.1:\(port), weight: \(weight) }" + (comment.map { "   # \($0)" } ?? "")
    }

    private init(bed: TestBed, port: UInt16, adminPort: UInt16, token: String?, file: URL, original: String,
                 running: ChildProcess) {
        self.bed = bed
        self.port = port
        self.adminPort = adminPort
        self.token = token
        self.file = file
        self.original = original
        self.running = running
    }

    /// Starts the proxy on a file whose pool `blue` holds `backends` (one flow entry each, the
    /// first with a trailing comment) unless `entries` gives the lines themselves; waits until it
    /// accepts and, when `waitHealthy`, until every backend is healthy.
    static func start(_ backends: [UInt16], entries: [String]? = nil, poolLines: [String] = RollingBed.check(),
                      token: String? = nil, waitHealthy: Bool = true, in bed: TestBed) async throws -> RollingBed {
        let port = try Ports.free()
        let adminPort = try Ports.free()
        let lines = entries ?? backends.enumerated().map { index, port in
            entry(port, comment: index == 0 ? "the first one" : nil)
        }
        let text = yaml(port: port, adminPort: adminPort, token: token, entries: lines, poolLines: poolLines)
        let file = bed.directory.appendingPathComponent("cutover-rolling.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let child = try await launch(file: file, port: port, in: bed)
        let s = RollingBed(bed: bed, port: port, adminPort: adminPort, token: token, file: file, original: text, running: child)
        if waitHealthy {
            try await waitUntil("every backend is healthy", timeout: .seconds(10)) {
                let listed = try await s.backends()
                return listed.count == backends.count && listed.allSatisfy(RollingBed.isUsable)
            }
        }
        return s
    }

    private static func launch(file: URL, port: UInt16, in bed: TestBed) async throws -> ChildProcess {
        let child = try ChildProcess(try CutoverBinary.url, ["run", "-c", file.path], label: "cutover", in: bed.directory)
        bed.adopt(child)
        try await waitUntil("the proxy accepts connections on \(port)") {
            if !child.isRunning { throw ChildFailure("cutover exited at start-up: \(child.stderrText)") }
            return Ports.isAccepting(port)
        }
        return child
    }

    /// SIGTERM, waits for a clean exit, then `cutover run -c` on the same file again.
    func restart() async throws {
        let old = proxy
        old.send(signal: SIGTERM)
        let status = try await old.waitForExit(timeout: .seconds(10))
        guard status == 0 else { throw ChildFailure("cutover exited \(status) on SIGTERM: \(old.stderrText)") }
        let fresh = try await Self.launch(file: file, port: port, in: bed)
        lock.withLock { running = fresh }
    }

    // MARK: the command line

    struct Outcome: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String
        var description: String { "exit \(status); stdout: \(stdout.debugDescription); stderr: \(stderr.debugDescription)" }
    }

    /// `cutover ARGUMENTS -c FILE` to completion.
    func cutover(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> Outcome {
        let child = try start(arguments)
        defer { child.kill() }
        let status = try await child.waitForExit(timeout: timeout)
        return Outcome(status: status, stdout: child.stdoutText, stderr: child.stderrText)
    }

    /// `cutover ARGUMENTS -c FILE` started, not waited for (the test kills it or waits itself).
    func start(_ arguments: [String]) throws -> ChildProcess {
        let child = try ChildProcess(try CutoverBinary.url, arguments + ["-c", file.path],
                                     label: "cutover-\(arguments.prefix(2).joined(separator: "-"))", in: bed.directory)
        bed.adopt(child)
        return child
    }

    func address(_ port: UInt16) -> String { "127.0.0.1:\(port)" }

    // MARK: the file

    func fileText() throws -> String { try String(contentsOf: file, encoding: .utf8) }

    /// The file's text for messages (they cannot throw).
    var text: String { (try? fileText()) ?? "<\(file.path) unreadable>" }

    /// The lines of the entry naming `port` (one for a flow entry; the address line and the
    /// indented keys after it for a block entry), joined with newlines; "" when there is none.
    func entryText(_ port: UInt16) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let first = lines.firstIndex(where: { $0.contains("127.0.0.1:\(port)") }) else { return "" }
        let dash = lines[first].prefix { $0 == " " }.count
        var entry = [lines[first]]
        for line in lines[(first + 1)...] {
            let indent = line.prefix { $0 == " " }.count
            guard indent > dash, !line.trimmingCharacters(in: .whitespaces).isEmpty else { break }
            entry.append(line)
        }
        return entry.joined(separator: "\n")
    }

    /// The backend ports the file's entries name, in order.
    func filePorts() throws -> [UInt16] {
        let text = try fileText()
        let pattern = try NSRegularExpression(pattern: #"address:\s*"?127\.0\.0\.1:(\d+)"#)
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            Range(match.range(at: 1), in: text).flatMap { UInt16(text[$0]) }
        }
    }

    /// The lines of the original file that are not about one of `edited` (their entries may be
    /// rewritten or gone) and that the file no longer holds in the same order: layout and
    /// comments lost by the edits. Empty when everything else was kept.
    func linesLost(editing edited: [UInt16]) throws -> [String] {
        let now = try fileText().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let kept = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .filter { line in !edited.contains { line.contains("127.0.0.1:\($0)") } }
        var lost: [String] = []
        var cursor = 0
        for line in kept {
            if let found = now[cursor...].firstIndex(of: line) {
                cursor = found + 1
            } else {
                lost.append(line)
            }
        }
        return lost
    }

    // MARK: the admin API

    /// One request to the admin API on a connection of its own (`token`: the bearer token to
    /// send; by default the bed's own).
    func admin(_ method: String, _ path: String, token: String?? = .none) async throws -> HTTPResponse {
        let client = try RawClient(port: adminPort)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n"
        if let bearer = token ?? self.token { request += "Authorization: Bearer \(bearer)\r\n" }
        if method == "POST" { request += "Content-Length: 0\r\n" }
        try client.send(request + "\r\n")
        return try await client.readResponse()
    }

    /// The JSON object of an admin answer.
    static func json(_ response: HTTPResponse) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw ChildFailure("not a JSON object (\(response.status)): \(response.bodyText)")
        }
        return object
    }

    func status() async throws -> [String: Any] {
        let response = try await admin("GET", "/status")
        guard response.status == 200 else { throw ChildFailure("/status answered \(response.status): \(response.bodyText)") }
        return try Self.json(response)
    }

    func generation() async throws -> Int {
        try #require(try await status()["generation"] as? Int)
    }

    /// Pool `blue`'s backends as `/status` lists them (draining ones included).
    func backends() async throws -> [[String: Any]] {
        guard let pools = try await status()["pools"] as? [[String: Any]],
              let blue = pools.first(where: { $0["name"] as? String == "blue" }),
              let backends = blue["backends"] as? [[String: Any]]
        else { throw ChildFailure("no pool blue in /status") }
        return backends
    }

    func backend(_ port: UInt16) async throws -> [String: Any]? {
        try await backends().first { $0["address"] as? String == address(port) }
    }

    /// The backend ports `/status` lists, sorted.
    func listedPorts() async throws -> [UInt16] {
        try await backends().compactMap { ($0["address"] as? String)?.split(separator: ":").last.flatMap { UInt16($0) } }.sorted()
    }

    /// Takes new requests: admin state active, healthy, effective weight above 0.
    static func isUsable(_ b: [String: Any]) -> Bool {
        b["admin_state"] as? String == "active" && b["state"] as? String == "healthy" && (b["effective_weight"] as? Int ?? 0) > 0
    }

    /// `count` GETs through the proxy on one connection: the answering backend's name, or the status.
    func answers(_ count: Int = 6, path: String = "/") async throws -> [String] {
        try await curlSequence(port: port, path: path, count: count, in: bed.directory)
            .map { $0.status == 200 ? $0.backend : "status \($0.status)" }
    }
}

/// Samples `/status` every `interval` from a task of its own: how many of pool `blue`'s backends
/// were usable at each look, and the fewest seen (with the look that saw it).
final class UsableSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var looks: [(at: UInt64, usable: Int, summary: String)] = []
    private var errors: [String] = []
    private var task: Task<Void, Never>?

    init(_ s: RollingBed, every interval: Duration = .milliseconds(100)) {
        task = Task { [self] in
            while !Task.isCancelled {
                do {
                    let backends = try await s.backends()
                    let usable = backends.filter(RollingBed.isUsable).count
                    let summary = backends.map { b in
                        "\((b["address"] as? String ?? "?").split(separator: ":").last ?? "?"):\(b["admin_state"] as? String ?? "-")/\(b["state"] as? String ?? "-")/w\(b["effective_weight"] as? Int ?? -1)"
                    }.joined(separator: " ")
                    lock.withLock { looks.append((monotonicNanoseconds(), usable, summary)) }
                } catch {
                    lock.withLock { errors.append("\(error)") }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Stops sampling; the looks taken and the failed ones.
    func stop() async -> (looks: [(at: UInt64, usable: Int, summary: String)], errors: [String]) {
        task?.cancel()
        await task?.value
        return lock.withLock { (looks, errors) }
    }
}

import Foundation
import Glibc
import Testing

/// A proxy that is upgraded in place (`cutover upgrade`, `POST /upgrade`, SIGUSR2), for the
/// binary-upgrade suites. Each new process is a child of the one it replaces, not of the test,
/// and outlives it: the bed remembers every pid that served (read from `/status` `process.pid`)
/// and `tearDown()` kills those still running — checked to be this proxy by their command line,
/// never a recycled pid — before the test's own processes.
final class UpgradeBed: AdminAPIBed, @unchecked Sendable {
    let bed: TestBed
    let config: ProxyConfig
    let configURL: URL
    /// The first listener's port, and the admin API's.
    let port: UInt16
    let adminPort: UInt16
    /// The process the test started; every later one descends from it.
    let first: ChildProcess
    private let lock = NSLock()
    private var pids: [Int32] = []

    private init(bed: TestBed, config: ProxyConfig, configURL: URL, first: ChildProcess) {
        self.bed = bed
        self.config = config
        self.configURL = configURL
        self.first = first
        port = config.listeners[0].port
        adminPort = config.admin?.port ?? 0
        pids = [first.pid]
    }

    /// Starts `cutover run -c FILE` (with `environment` added to the test's own) and waits until
    /// every listener and the admin API accept connections. `config` must have an admin API.
    /// `descriptor9`: the proxy starts with this file open on descriptor 9 (without FD_CLOEXEC),
    /// as a process started by a supervisor may inherit descriptors it does not know about.
    static func start(_ config: ProxyConfig, environment: [String: String] = [:], descriptor9: URL? = nil,
                      in bed: TestBed) async throws -> UpgradeBed {
        guard let admin = config.admin else { throw ChildFailure("an upgrade bed needs the admin API") }
        let configURL = bed.directory.appendingPathComponent("cutover-\(UUID().uuidString.prefix(8)).yaml")
        try config.yaml.write(to: configURL, atomically: true, encoding: .utf8)
        let child: ChildProcess
        if let descriptor9 {
            // The shell opens the file and replaces itself by cutover: the same pid.
            let command = "exec 9>>'\(descriptor9.path)'; exec '\(try CutoverBinary.url.path)' run -c '\(configURL.path)'"
            child = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", command], label: "cutover", in: bed.directory,
                                     environment: environment)
        } else {
            child = try ChildProcess(try CutoverBinary.url, ["run", "-c", configURL.path], label: "cutover", in: bed.directory,
                                     environment: environment)
        }
        bed.adopt(child)
        try await waitUntil("the proxy accepts connections") {
            if !child.isRunning { throw ChildFailure("cutover exited at start-up: \(child.stderrText)") }
            return config.listeners.allSatisfy { Ports.isAccepting($0.port) } && Ports.isAccepting(admin.port)
        }
        return UpgradeBed(bed: bed, config: config, configURL: configURL, first: child)
    }

    /// A proxy on fresh ports in front of pool `blue` holding `backends` (weight 1 each), with
    /// the admin API and `timeouts.shutdown` set to `shutdown`.
    static func start(for backends: [Backend], shutdown: String = "5s", workers: Int = 1,
                      adjust: (ProxyConfig) -> ProxyConfig = { $0 }, in bed: TestBed) async throws -> UpgradeBed {
        let config = ProxyConfig.http(port: try Ports.free(), backends: backends)
            .withAdmin(port: try Ports.free())
            .setting(timeout: "shutdown", shutdown)
            .with(workers: workers)
        return try await start(adjust(config), in: bed)
    }

    // MARK: processes

    /// Adds `pid` to the processes `tearDown()` kills.
    func remember(_ pid: Int32) {
        lock.withLock { if !pids.contains(pid) { pids.append(pid) } }
    }

    /// Kills every process still running this proxy's config — the remembered ones and any
    /// other successor (one whose upgrade answer was lost is known to nobody) — then the test's
    /// own. The successors go first: until they are gone, Foundation cannot see the first
    /// process end (see `exitStatus`), and `ChildProcess.kill()` would wait for it forever.
    func tearDown() {
        let remembered = lock.withLock { pids }
        let running = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        let mine = Set(remembered + running).filter { Self.isRunning($0) && Self.commandLine($0).contains(configURL.path) }
        for pid in mine {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
        }
        for pid in mine where pid != first.pid {
            // Reaped by init (or by their parent's exit): wait until they are gone.
            for _ in 0..<200 where Self.isRunning(pid) { usleep(5_000) }
        }
        bed.tearDown()
    }

    /// Whether `pid` exists and is not a zombie (an exited upgrade's old process is reaped by
    /// init, or by Foundation for the first one; until then it is a zombie). A process whose main
    /// thread is a zombie while other threads still exit is running: its children are not
    /// reparented yet, so a new process still sees it as the one draining.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        guard let state else { return false }
        if state != "Z" && state != "X" { return true }
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"))?.count ?? 0
        return threads > 1
    }

    /// Where each open descriptor of `pid` points (`/proc/PID/fd`), by number.
    static func descriptors(_ pid: Int32) -> [Int: String] {
        let folder = "/proc/\(pid)/fd"
        var out: [Int: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            if let fd = Int(name), let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/\(name)") {
                out[fd] = target
            }
        }
        return out
    }

    static func commandLine(_ pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// The exit status of `pid` once it has exited and while it is a zombie not yet reaped
    /// (`/proc/PID/stat` field 52); nil otherwise.
    ///
    /// The first process's status cannot come from `ChildProcess.waitForExit`: Foundation learns
    /// that a child ended when a socket it shares with the child reaches EOF, and the proxy hands
    /// that descriptor (inherited without FD_CLOEXEC) down to the new process at the upgrade, so
    /// Foundation sees the first process exit only when the last of its successors does.
    static func exitStatus(_ pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.first == "Z", fields.count > 49, let code = Int32(fields[49].trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        return code & 0x7f == 0 ? (code >> 8) & 0xff : -(code & 0x7f)
    }

    /// Waits until the first process (the test's child) has exited; returns its exit status
    /// (negative: the signal that ended it).
    func firstExitStatus(timeout: Duration = .seconds(10)) async throws -> Int32 {
        var status: Int32?
        try await waitUntil("pid \(first.pid) exits", timeout: timeout, every: .milliseconds(5)) {
            if !first.isRunning {
                status = first.process.terminationReason == .exit ? first.process.terminationStatus : -first.process.terminationStatus
                return true
            }
            status = Self.exitStatus(first.pid)
            return status != nil
        }
        return status!
    }

    /// Waits until `pid` has exited; returns when that was seen (CLOCK_MONOTONIC ns).
    @discardableResult
    func waitUntilGone(_ pid: Int32, timeout: Duration = .seconds(10)) async throws -> UInt64 {
        try await waitUntil("pid \(pid) exits", timeout: timeout, every: .milliseconds(5)) { !Self.isRunning(pid) }
        return monotonicNanoseconds()
    }

    // MARK: the admin API and the command line

    /// An upgrade's answer waits for the new process to be ready.
    var adminTimeout: Duration { .seconds(40) }

    static func json(_ response: HTTPResponse) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw ChildFailure("not a JSON object: \(response.status) \(response.bodyText)")
        }
        return object
    }

    /// `/status` `process.pid`: the process serving now (remembered for `tearDown()`).
    func servingPid() async throws -> Int32 {
        let status = try await status()
        guard let process = status["process"] as? [String: Any], let pid = process["pid"] as? Int else {
            throw ChildFailure("/status has no process.pid: \(status)")
        }
        remember(Int32(pid))
        return Int32(pid)
    }

    /// The `/status` entry of the backend on `port`, in any pool; nil when it is not listed.
    func backend(_ port: UInt16) async throws -> [String: Any]? {
        let pools = try await status()["pools"] as? [[String: Any]] ?? []
        for pool in pools {
            for entry in pool["backends"] as? [[String: Any]] ?? [] where entry["address"] as? String == "127.0.0.1:\(port)" {
                return entry
            }
        }
        return nil
    }

    /// `cutover ARGUMENTS -c FILE`, run to completion.
    func cutover(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await CutoverBinary.run(arguments + ["-c", configURL.path], in: bed.directory, timeout: .seconds(60))
    }

    /// `cutover upgrade EXTRA -c FILE`, timed (CLOCK_MONOTONIC ns just before it started and once
    /// it exited); whatever it says, the pid serving afterwards is remembered for `tearDown()`.
    func upgrade(_ extra: [String] = []) async throws -> (status: Int32, stdout: String, stderr: String, asked: UInt64, returned: UInt64) {
        let asked = monotonicNanoseconds()
        let result = try await cutover(["upgrade"] + extra)
        let returned = monotonicNanoseconds()
        _ = try? await servingPid()
        return (result.status, result.stdout, result.stderr, asked, returned)
    }

    // MARK: clients

    /// `GET path` through the proxy on a new connection.
    func get(_ path: String = "/", port: UInt16? = nil) async throws -> HTTPResponse {
        let client = try RawClient(port: port ?? self.port)
        try client.send("GET \(path) HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
        return try await client.readResponse()
    }

    /// A keep-alive connection served once, then idle. An old process holds it for its 1 s
    /// grace after the hand-over: the tests that are not about the `/upgrade` answer itself keep
    /// one open, so the old process does not exit before answering (see `UpgradeAnswerTests`).
    func idleKeepAlive() async throws -> RawClient {
        let client = try RawClient(port: port)
        try client.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n")
        let answer = try await client.readResponse()
        guard answer.status == 200 else { throw ChildFailure("the keep-alive request answered \(answer.status)") }
        return client
    }

    /// A WebSocket through the proxy (the backend echoes upper-cased), checked once.
    func webSocket(port: UInt16? = nil) async throws -> RawClient {
        let client = try RawClient(port: port ?? self.port)
        try client.send("GET /socket HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Version: 13\r\n\r\n")
        let switching = try await client.readResponse(toHEAD: true)
        guard switching.status == 101 else { throw ChildFailure("the WebSocket upgrade answered \(switching.status)") }
        try await Self.echo("opened", on: client)
        return client
    }

    /// Sends `text` on a WebSocket to the echo backend and checks it comes back upper-cased.
    static func echo(_ text: String, on client: RawClient) async throws {
        try client.send(text)
        let back = try await client.read(exactly: text.utf8.count)
        guard back == Array(text.uppercased().utf8) else {
            throw ChildFailure("the WebSocket echoed \(String(decoding: back, as: UTF8.self)) for \(text)")
        }
    }

    // MARK: sockets

    /// The inode of every socket listening on 127.0.0.1:`port` (`ss -ltne`), sorted: one per
    /// worker for a listener (SO_REUSEPORT), one for the admin API.
    func listeningInodes(_ port: UInt16) async throws -> [UInt64] {
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/ss"), ["-ltneH", "sport = :\(port)"], label: "ss",
                                     in: bed.directory)
        defer { child.kill() }
        let status = try await child.waitForExit(timeout: .seconds(10))
        guard status == 0 else { throw ChildFailure("ss exited \(status): \(child.stderrText)") }
        let inodes = child.stdoutText.split(separator: "\n").compactMap { line -> UInt64? in
            guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("ino:") }) else { return nil }
            return UInt64(field.dropFirst(4))
        }
        return inodes.sorted()
    }

    // MARK: fixtures

    static func fixture(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: "py", subdirectory: "Fixtures") else {
            throw ChildFailure("Fixtures/\(name).py is missing from the test bundle")
        }
        return url
    }

    /// `Fixtures/upgrade_trickle.py`: a backend whose `/trickle?bytes=N&ms=M` lasts M ms.
    static func trickleBackend(_ name: String, in bed: TestBed) async throws -> (child: ChildProcess, port: UInt16) {
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", try fixture("upgrade_trickle").path, "--name", name],
                                     label: "trickle-\(name)", in: bed.directory)
        bed.adopt(child)
        var port: UInt16?
        try await waitUntil("the trickle backend reports its port") {
            if !child.isRunning { throw ChildFailure("upgrade_trickle.py exited: \(child.stderrText)") }
            port = child.stdoutText.split(separator: "\n").first { $0.hasPrefix("READY ") }.flatMap { UInt16($0.dropFirst(6)) }
            return port != nil
        }
        return (child, port!)
    }

    /// Writes an executable shell script into the test's directory.
    func script(_ name: String, _ body: String) throws -> URL {
        let url = bed.directory.appendingPathComponent(name)
        try ("#!/bin/sh\n" + body + "\n").write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url
    }
}

/// `curl` downloading `/trickle?bytes=N&ms=M` into a file, running while the test does other things.
struct TrickleDownload {
    let child: ChildProcess
    let file: URL
    let bytes: Int

    static func start(port: UInt16, bytes: Int, ms: Int, in directory: URL) throws -> TrickleDownload {
        let file = directory.appendingPathComponent("download-\(UUID().uuidString.prefix(8)).bin")
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/curl"),
                                     ["-sS", "-o", file.path, "-w", "%{http_code} %{size_download}",
                                      "http://127.0.0.1:\(port)/trickle?bytes=\(bytes)&ms=\(ms)"],
                                     label: "download", in: directory)
        return TrickleDownload(child: child, file: file, bytes: bytes)
    }

    /// Bytes received so far.
    var received: Int {
        ((try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? Int) ?? 0
    }

    /// Waits for curl to end; nil when the download came whole (status 200, every byte as the
    /// backend wrote it), else what went wrong.
    func finish() async throws -> String? {
        defer {
            child.kill()
            try? FileManager.default.removeItem(at: file)
        }
        let code = try await child.waitForExit(timeout: .seconds(20))
        guard code == 0 else { return "curl exited \(code): \(child.stderrText)" }
        guard child.stdoutText == "200 \(bytes)" else { return "curl: \(child.stdoutText)" }
        let data = try Data(contentsOf: file)
        guard data.count == bytes else { return "\(data.count) of \(bytes) bytes in the file" }
        let wrong = data.withUnsafeBytes { raw -> Int? in
            var expected: UInt8 = 0
            for i in 0..<raw.count {
                if raw[i] != expected { return i }
                expected = expected == 250 ? 0 : expected + 1
            }
            return nil
        }
        return wrong.map { "byte \($0) differs" }
    }
}

/// One sd_notify datagram as `Fixtures/upgrade_notify.py` received it.
struct NotifyMessage: CustomStringConvertible {
    /// The sender, as the kernel says (SCM_CREDENTIALS).
    var pid: Int32
    /// CLOCK_MONOTONIC at receipt, in microseconds.
    var receivedMicroseconds: UInt64
    var text: String

    /// `KEY=VALUE` lines.
    var fields: [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
        }
        return out
    }

    var description: String { "pid \(pid): \(text.replacingOccurrences(of: "\n", with: "\\n"))" }
}

/// `Fixtures/upgrade_notify.py` listening on a unix datagram socket, as systemd does.
final class NotifyListener: @unchecked Sendable {
    let child: ChildProcess
    let out: URL
    /// What NOTIFY_SOCKET must say.
    let address: String

    private init(child: ChildProcess, out: URL, address: String) {
        self.child = child
        self.out = out
        self.address = address
    }

    /// `abstract`: an abstract socket name (`@name`), else a path in the test's directory.
    static func start(abstract: Bool, in bed: TestBed) async throws -> NotifyListener {
        let tag = UUID().uuidString.prefix(8)
        let address = abstract ? "@cutover-e2e-notify-\(tag)" : bed.directory.appendingPathComponent("notify-\(tag).sock").path
        let out = bed.directory.appendingPathComponent("notify-\(tag).jsonl")
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                     ["python3", try UpgradeBed.fixture("upgrade_notify").path, "--socket", address, "--out", out.path],
                                     label: "notify", in: bed.directory)
        bed.adopt(child)
        try await waitUntil("the notify socket is bound") {
            if !child.isRunning { throw ChildFailure("upgrade_notify.py exited: \(child.stderrText)") }
            return child.stdoutText.contains("READY\n")
        }
        return NotifyListener(child: child, out: out, address: address)
    }

    /// Every datagram received so far, in order.
    func messages() throws -> [NotifyMessage] {
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let pid = object["pid"] as? Int, let us = object["us"] as? Int, let message = object["message"] as? String
            else { throw ChildFailure("bad notify record: \(line)") }
            return NotifyMessage(pid: Int32(pid), receivedMicroseconds: UInt64(us), text: message)
        }
    }

    /// Waits until at least `count` datagrams have come; returns them all.
    func waitFor(count: Int, _ what: String, timeout: Duration = .seconds(5)) async throws -> [NotifyMessage] {
        var seen: [NotifyMessage] = []
        do {
            try await waitUntil(what, timeout: timeout) {
                seen = try messages()
                return seen.count >= count
            }
        } catch {
            throw ChildFailure("\(error); received: \(seen)")
        }
        return seen
    }
}

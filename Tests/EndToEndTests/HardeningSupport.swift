import Foundation
import Glibc

/// A fixture of the hardening suites, from the test bundle's Fixtures folder.
func hardeningFixture(_ name: String) throws -> URL {
    guard let url = Bundle.module.url(forResource: name, withExtension: "py", subdirectory: "Fixtures") else {
        throw ChildFailure("Fixtures/\(name).py is missing from the test bundle")
    }
    return url
}

/// One request `hardening_client.py` made.
struct NeverRetryRecord: CustomStringConvertible {
    enum Kind: String { case keepAlive = "k", fresh = "n" }
    var kind: Kind
    /// CLOCK_MONOTONIC ns: before the request was sent (the connect attempt for a failed connect),
    /// when the answer was whole or the failure seen, and when its connection was established.
    var sent: UInt64
    var done: UInt64
    var opened: UInt64
    var status: Int
    /// The answer carried `Connection: close`.
    var closes: Bool
    /// `ok`, `broken:<exception>`, `refused`, `connect:<exception>`.
    var outcome: String

    var answered: Bool { outcome == "ok" }
    /// Failed on an established connection: what must never happen.
    var broken: Bool { outcome.hasPrefix("broken:") }

    init(line: Substring) throws {
        let f = line.split(separator: " ")
        guard f.count == 7, let kind = Kind(rawValue: String(f[0])), let sent = UInt64(f[1]), let done = UInt64(f[2]),
              let opened = UInt64(f[3]), let status = Int(f[4])
        else { throw ChildFailure("bad hardening_client record: \(line)") }
        self.kind = kind
        self.sent = sent
        self.done = done
        self.opened = opened
        self.status = status
        closes = f[5] == "1"
        outcome = String(f[6])
    }

    var description: String { "\(kind.rawValue) \(outcome) status \(status) sent=\(sent) done=\(done) opened=\(opened)" }
}

struct NeverRetryReport {
    var records: [NeverRetryRecord]

    var answered: [NeverRetryRecord] { records.filter(\.answered) }
    var broken: [NeverRetryRecord] { records.filter(\.broken) }
    var refused: [NeverRetryRecord] { records.filter { $0.outcome == "refused" } }
    /// Connect failures other than a refusal (a reset handshake, a timeout): none expected.
    var otherConnectFailures: [NeverRetryRecord] { records.filter { $0.outcome.hasPrefix("connect:") } }
    var outcomes: [String: Int] { records.reduce(into: [:]) { $0[$1.outcome, default: 0] += 1 } }
    var statuses: [Int: Int] { answered.reduce(into: [:]) { $0[$1.status, default: 0] += 1 } }

    /// The failures, timed from `reference` (a signal, a reload), for an expectation's message.
    func failureSummary(from reference: UInt64) -> String {
        let failed = records.filter { $0.broken || $0.outcome.hasPrefix("connect:") }
        return "outcomes \(outcomes); " + failed.prefix(8).map {
            "\($0.kind.rawValue) \($0.outcome): sent \(milliseconds(reference, $0.sent)) ms after, failed \(($0.done &- $0.sent) / 1000) µs later, on a connection opened \($0.opened == 0 ? "-" : "\(milliseconds(reference, $0.opened))") ms after"
        }.joined(separator: "; ")
    }
}

/// `Fixtures/hardening_client.py`: keep-alive (and optionally new-connection-per-request) clients
/// that never retry a request, so every request that fails on an established connection shows.
final class NeverRetryingClients: @unchecked Sendable {
    let child: ChildProcess
    let recordsURL: URL
    let progressURL: URL
    let stopURL: URL

    private init(child: ChildProcess, recordsURL: URL, progressURL: URL, stopURL: URL) {
        self.child = child
        self.recordsURL = recordsURL
        self.progressURL = progressURL
        self.stopURL = stopURL
    }

    static func start(port: UInt16, keepAlive: Int = 6, fresh: Int = 0, path: String = "/",
                      in directory: URL) throws -> NeverRetryingClients {
        let tag = "never-retry-\(UUID().uuidString.prefix(8))"
        let recordsURL = directory.appendingPathComponent("\(tag).txt")
        let progressURL = directory.appendingPathComponent("\(tag).progress")
        let stopURL = directory.appendingPathComponent("\(tag).stop")
        let arguments = [try hardeningFixture("hardening_client").path, "--port", "\(port)", "--keepalive", "\(keepAlive)",
                         "--fresh", "\(fresh)", "--path", path, "--out", recordsURL.path, "--progress", progressURL.path,
                         "--stop-file", stopURL.path]
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments,
                                     label: "never-retry", in: directory)
        return NeverRetryingClients(child: child, recordsURL: recordsURL, progressURL: progressURL, stopURL: stopURL)
    }

    /// Answered, broken and refused requests so far (rewritten every 20 ms by the clients).
    func progress() throws -> (answered: Int, broken: Int, refused: Int) {
        if !child.isRunning { throw ChildFailure("hardening_client exited early: \(child.stderrText)") }
        guard let text = try? String(contentsOf: progressURL, encoding: .utf8) else { return (0, 0, 0) }
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        guard f.count == 3 else { return (0, 0, 0) }
        return (f[0], f[1], f[2])
    }

    /// Stops the clients (each after its current request) and collects the records.
    func stop(timeout: Duration = .seconds(15)) async throws -> NeverRetryReport {
        guard FileManager.default.createFile(atPath: stopURL.path, contents: nil) else {
            throw ChildFailure("cannot create \(stopURL.path)")
        }
        let status = try await child.waitForExit(timeout: timeout)
        guard status == 0 else { throw ChildFailure("hardening_client exited \(status): \(child.stderrText)") }
        let text = try String(contentsOf: recordsURL, encoding: .utf8)
        return NeverRetryReport(records: try text.split(separator: "\n").map(NeverRetryRecord.init(line:)))
    }

    func kill() { child.kill() }
}

/// `Fixtures/hardening_rawecho.py`: an upstream answering every request with the exact head and
/// body bytes it received, and listing every head on its stdout.
final class RawEchoUpstream: @unchecked Sendable {
    let port: UInt16
    let child: ChildProcess

    private init(port: UInt16, child: ChildProcess) {
        self.port = port
        self.child = child
    }

    static func start(in bed: TestBed) async throws -> RawEchoUpstream {
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", try hardeningFixture("hardening_rawecho").path],
                                     label: "rawecho", in: bed.directory)
        bed.adopt(child)
        var port: UInt16?
        try await waitUntil("the raw echo upstream reports its port") {
            if let line = child.stdoutText.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }) {
                port = UInt16(line.dropFirst("READY ".count))
                return true
            }
            if !child.isRunning { throw ChildFailure("hardening_rawecho exited: \(child.stderrText)") }
            return false
        }
        guard let port else { throw ChildFailure("hardening_rawecho printed no valid port: \(child.stdoutText)") }
        return RawEchoUpstream(port: port, child: child)
    }

    /// Every request head received so far, in order, byte for byte (as latin-1 text).
    var heads: [String] {
        child.stdoutText.split(separator: "\n").filter { $0.hasPrefix("GOT ") }.map { line in
            let hex = Array(line.dropFirst(4).utf8)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(hex.count / 2)
            var i = 0
            while i + 1 < hex.count {
                bytes.append(UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16) ?? 0)
                i += 2
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

/// Waits up to `timeout` for any of `clients` to turn readable (data, EOF or reset); returns the
/// indices that did. An empty answer means every one stayed silent for the whole time.
func readableClients(_ clients: [RawClient], within timeout: Duration) -> [Int] {
    var descriptors = clients.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
    let (seconds, attoseconds) = timeout.components
    let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        let ready = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
        if ready > 0 { break }
        if ready == 0 || clock.now >= deadline { return [] }
        // EINTR: poll again (the full timeout again is harmless: callers only look for silence)
    }
    return descriptors.indices.filter { descriptors[$0].revents != 0 }
}

/// Open descriptors of a process (`/proc/PID/fd`).
func openDescriptors(pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
}

/// One request to an admin API on a connection of its own.
func adminRequest(port: UInt16, _ method: String, _ path: String) async throws -> HTTPResponse {
    let client = try RawClient(port: port)
    var request = "\(method) \(path) HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n"
    if method == "POST" { request += "Content-Length: 0\r\n" }
    try client.send(request + "\r\n")
    return try await client.readResponse()
}

/// Lines of `text` containing `needle`.
func lines(of text: String, containing needle: String) -> [Substring] {
    text.split(separator: "\n").filter { $0.contains(needle) }
}

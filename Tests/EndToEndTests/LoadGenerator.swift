import Foundation
import Glibc

/// CLOCK_MONOTONIC now, in nanoseconds: the clock `loadgen.py` stamps its requests with, so a
/// test can place each request before or after a moment it saw itself (a reload returning).
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// One request `loadgen.py` made.
struct LoadRecord: CustomStringConvertible {
    enum Kind: String { case keepAlive = "k", fresh = "n" }
    /// CLOCK_MONOTONIC just before the request's first byte left, and when its answer was whole.
    var sent: UInt64
    var done: UInt64
    var kind: Kind
    /// 0 when no answer came.
    var status: Int
    /// The answer's X-Backend, "-" when none.
    var backend: String
    /// `ok`, or how it failed: `reset`, `refused`, `eof`, `timeout`, `bad`, `error:<errno>`.
    var outcome: String

    var succeeded: Bool { outcome == "ok" && status == 200 }

    init(line: Substring) throws {
        let f = line.split(separator: " ")
        guard f.count == 6, let sent = UInt64(f[0]), let done = UInt64(f[1]),
              let kind = Kind(rawValue: String(f[2])), let status = Int(f[3])
        else { throw ChildFailure("bad loadgen record: \(line)") }
        self.sent = sent
        self.done = done
        self.kind = kind
        self.status = status
        backend = String(f[4])
        outcome = String(f[5])
    }

    var description: String { "\(kind.rawValue) sent=\(sent) done=\(done) \(status) \(backend) \(outcome)" }
}

/// Everything one run of the load generator recorded.
struct LoadReport {
    var records: [LoadRecord]

    var failures: [LoadRecord] { records.filter { !$0.succeeded } }
    /// Requests per outcome (`ok`, `reset`, `refused`, …).
    var outcomes: [String: Int] { records.reduce(into: [:]) { $0[$1.outcome, default: 0] += 1 } }
    /// Successful requests per answering backend.
    var backends: [String: Int] {
        records.filter(\.succeeded).reduce(into: [:]) { $0[$1.backend, default: 0] += 1 }
    }
    func count(_ kind: LoadRecord.Kind) -> Int { records.filter { $0.kind == kind }.count }

    /// A short account of the failures for an expectation's message.
    var failureSummary: String {
        let failed = failures
        return "\(failed.count) of \(records.count) failed; outcomes \(outcomes); first: \(failed.prefix(5))"
    }
}

/// `Fixtures/loadgen.py` running against a port: client threads on keep-alive connections and on
/// a new connection per request, each request recorded with its send time and answering backend.
/// The generator stops by itself after `count` requests or `limit`, on `stop()`, or when the test
/// process ends (it watches its stdin); `kill()` (deferred by the tests) ends it in any case.
final class LoadGenerator: @unchecked Sendable {
    let child: ChildProcess
    let recordsURL: URL
    /// Created by `stop()`: the generator polls for it (it would not see a SIGTERM, which the
    /// test process's children inherit blocked).
    let stopURL: URL

    private init(child: ChildProcess, recordsURL: URL, stopURL: URL) {
        self.child = child
        self.recordsURL = recordsURL
        self.stopURL = stopURL
    }

    static var script: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "loadgen", withExtension: "py", subdirectory: "Fixtures") else {
                throw ChildFailure("Fixtures/loadgen.py is missing from the test bundle")
            }
            return url
        }
    }

    static func start(port: UInt16, keepAlive: Int = 1, fresh: Int = 0, path: String = "/", headers: [String] = [],
                      count: Int? = nil, limit: Duration = .seconds(30), in directory: URL) throws -> LoadGenerator {
        let tag = "loadgen-\(UUID().uuidString.prefix(8))"
        let recordsURL = directory.appendingPathComponent("\(tag).txt")
        let stopURL = directory.appendingPathComponent("\(tag).stop")
        var arguments = [try script.path, "--port", "\(port)", "--keepalive", "\(keepAlive)", "--fresh", "\(fresh)",
                         "--path", path, "--duration", "\(limit.components.seconds)", "--out", recordsURL.path,
                         "--stop-file", stopURL.path]
        for header in headers { arguments += ["--header", header] }
        if let count { arguments += ["--count", "\(count)"] }
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments,
                                     label: "loadgen", in: directory)
        return LoadGenerator(child: child, recordsURL: recordsURL, stopURL: stopURL)
    }

    /// Waits until the generator has sent its `count` requests and exited.
    func finish(timeout: Duration = .seconds(30)) async throws -> LoadReport {
        let status = try await child.waitForExit(timeout: timeout)
        return try report(status: status)
    }

    /// Stops the clients (each ends after its current request) and collects the records.
    func stop(timeout: Duration = .seconds(15)) async throws -> LoadReport {
        guard FileManager.default.createFile(atPath: stopURL.path, contents: nil) else {
            throw ChildFailure("cannot create \(stopURL.path)")
        }
        let status = try await child.waitForExit(timeout: timeout)
        return try report(status: status)
    }

    func kill() { child.kill() }

    private func report(status: Int32) throws -> LoadReport {
        guard status == 0 else { throw ChildFailure("loadgen exited \(status): \(child.stderrText)") }
        let text = try String(contentsOf: recordsURL, encoding: .utf8)
        return LoadReport(records: try text.split(separator: "\n").map(LoadRecord.init(line:)))
    }
}

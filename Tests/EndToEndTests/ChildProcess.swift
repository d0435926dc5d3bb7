import Foundation
import Glibc

/// A process started by a test, with stdout and stderr captured in files (a pipe nobody reads
/// would block a chatty child) and stdin held open on a pipe, so a child that watches its stdin
/// (the Python backends) ends with the test process even if the test process dies.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL
    private let stdin = Pipe()
    let label: String

    /// `environment` adds to (or overrides) the test process's own.
    init(_ executable: URL, _ arguments: [String], label: String, in directory: URL,
         environment: [String: String] = [:]) throws {
        self.label = label
        let tag = "\(label)-\(UUID().uuidString.prefix(8))"
        stdoutURL = directory.appendingPathComponent("\(tag).out")
        stderrURL = directory.appendingPathComponent("\(tag).err")
        guard FileManager.default.createFile(atPath: stdoutURL.path, contents: nil),
              FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        else { throw ChildFailure("cannot create output files in \(directory.path)") }
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardInput = stdin
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        // One launch at a time: Foundation's Process.run copies the environment and sets up the
        // child without a lock of its own, and beds that start several children at once (task
        // groups) crashed it (a bad pointer in memcpy inside Process.run) or left a child dead.
        ChildProcess.launching.lock()
        defer { ChildProcess.launching.unlock() }
        try process.run()
    }

    private static let launching = NSLock()

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    var stdoutText: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderrText: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Writes `text` to the child's stdin (an interactive client such as `openssl s_client`).
    func write(_ text: String) {
        stdin.fileHandleForWriting.write(Data(text.utf8))
    }

    /// Closes the child's stdin: it reads EOF.
    func closeInput() {
        try? stdin.fileHandleForWriting.close()
    }

    func send(signal: Int32) {
        if process.isRunning { Glibc.kill(pid, signal) }
    }

    /// Waits for the process to exit and returns its exit status; throws if it is still running
    /// after `timeout`, or if a signal ended it.
    @discardableResult
    func waitForExit(timeout: Duration) async throws -> Int32 {
        try await waitUntil("\(label) (pid \(pid)) exits", timeout: timeout) { !process.isRunning }
        guard process.terminationReason == .exit else {
            throw ChildFailure("\(label) was killed by signal \(process.terminationStatus)")
        }
        return process.terminationStatus
    }

    /// Ends the process for good (SIGKILL) and reaps it. Safe to call more than once.
    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGKILL)
        process.waitUntilExit()
    }
}

struct ChildFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

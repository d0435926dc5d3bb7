import AccessLogWriter
import Config
import DataPlane
import Dispatch
import EventLoop
import Logging

/// A reload's change of `access_log`: the newly opened destination (nil: off) and the one it
/// replaces. Opened before anything else changes, so a file that cannot be opened rejects the
/// reload whole.
struct AccessLogChange {
    var next: AccessLogOutput?
    var previous: AccessLogOutput?
}

/// The access log on the control plane: opening the destination at start and on reloads,
/// telling each worker its ring, SIGUSR1 reopen, and the last flush before exit. Control queue.
extension Proxy {
    /// At start, before anything is bound: starts the writer and opens the destination
    /// (`postAccessLog` then tells the workers, once they exist).
    func startAccessLog(workers: Int) throws(ConfigError) -> AccessLogChange? {
        let writer: AccessLogWriter
        do {
            writer = try AccessLogWriter()
        } catch {
            throw ConfigError(SourceLocation(file: configFile, line: 1, column: 1), "cannot start the access log writer: \(error)")
        }
        accessLogWriter = writer
        writer.startThread()
        return try prepareAccessLog(config, replacing: nil, workers: workers)
    }

    /// Opens the destination `next` asks for, if it differs from the running one.
    func prepareAccessLog(_ next: CutoverConfig, replacing current: AccessLogOutput?, workers: Int) throws(ConfigError) -> AccessLogChange? {
        if let current, current.destination == next.accessLog { return nil }
        if current == nil && next.accessLog == .off { return nil }
        do {
            return AccessLogChange(next: try AccessLogOutput.open(next.accessLog, workers: workers), previous: current)
        } catch {
            throw ConfigError(next.accessLogLocation ?? SourceLocation(file: configFile, line: 1, column: 1), error.description)
        }
    }

    /// Starts draining the new destination and tells every worker (before the snapshot that comes
    /// with the same reload, so once the reload has returned no worker writes to the old one).
    func postAccessLog(_ change: AccessLogChange?) {
        guard let change, let writer = accessLogWriter else { return }
        if let next = change.next { writer.add(next) }
        for (i, mailbox) in mailboxes.enumerated() {
            mailbox.post(.accessLog(change.next?.target(for: i, wake: writer.wake)))
        }
        accessLogOutput = change.next
        log.info("access log: \(describe(change.next))")
    }

    /// After every worker acknowledged the reload: the old destination is drained and closed.
    func retireAccessLog(_ change: AccessLogChange?) {
        guard let previous = change?.previous else { return }
        accessLogWriter?.retire(previous)
    }

    /// A reload that opened a destination and was then rejected.
    func discardAccessLog(_ change: AccessLogChange?) {
        change?.next?.closeFile()
    }

    /// SIGUSR1.
    func reopenAccessLog() {
        guard accessLogOutput?.path != nil else {
            log.info("SIGUSR1: no access log file to reopen")
            return
        }
        accessLogWriter?.reopen()
    }

    /// Before exit: what the workers queued is written, waiting at most `timeout` (a write may be
    /// stuck on a stdout nobody reads).
    func flushAccessLog(timeout: DispatchTimeInterval) {
        guard let writer = accessLogWriter else { return }
        let done = DispatchSemaphore(value: 0)
        writer.flush { done.signal() }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            log.warning("access log: lines still queued at exit were not written")
        }
    }

    public var accessLogStats: AccessLogStats { accessLogWriter?.stats ?? AccessLogStats() }

    private func describe(_ output: AccessLogOutput?) -> String {
        switch output?.destination {
        case nil, .off: return "off"
        case .stdout: return "stdout"
        case .file(let path): return path
        }
    }
}

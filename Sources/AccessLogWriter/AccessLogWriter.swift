import Config
import DataPlane
import EventLoop
import Glibc
import Logging
import Synchronization

/// The control plane's side of the access log: one thread that drains every worker's ring into
/// the configured destination with large writes, every 100 ms or when a worker finds its ring
/// half full. Writing may block (a slow disk, a stdout nobody reads); only this thread waits then,
/// and the workers drop the lines that no longer fit.
///
/// Outputs are added and retired by the control queue (start, reloads); SIGUSR1 reopens the
/// files. The lock guards only the list of outputs and pending requests, never a write.
public final class AccessLogWriter: @unchecked Sendable {
    package let wake: WakeEvent
    private let shared = Locked(Shared())
    private let linesWritten = Atomic<UInt64>(0)
    private let linesLost = Atomic<UInt64>(0)
    private var thread: LoopThread?

    private struct Shared {
        var outputs: [AccessLogOutput] = []
        /// Outputs no worker writes to any more: drained once more, then closed.
        var retiring: [AccessLogOutput] = []
        /// Freshly opened descriptors for outputs whose file SIGUSR1 reopened.
        var reopened: [(output: AccessLogOutput, fd: Int32)] = []
        var flushRequests: [@Sendable () -> Void] = []
        /// Lines refused by the rings of outputs already retired (theirs are gone).
        var refusedByRetired: UInt64 = 0
    }

    static let intervalMilliseconds: Int32 = 100

    package init() throws(SyscallError) {
        wake = try WakeEvent()
    }

    package func startThread() {
        guard thread == nil else { return }
        thread = LoopThread(name: "cutover-log") { [self] in run() }
    }

    // MARK: control queue

    /// Starts draining `output` (workers may already write to its rings).
    package func add(_ output: AccessLogOutput) {
        shared.withLock { $0.outputs.append(output) }
        wake.signal()
    }

    /// No worker writes to `output` any more: it is drained one last time and closed.
    package func retire(_ output: AccessLogOutput) {
        shared.withLock { state in
            state.outputs.removeAll { $0 === output }
            state.retiring.append(output)
        }
        wake.signal()
    }

    /// SIGUSR1: every file output opens its path anew (logrotate has renamed the old file). What
    /// was queued before the reopen goes to the old file; what follows, to the new one. A path
    /// that cannot be opened keeps the old file in use, and says why.
    package func reopen() {
        let outputs = shared.withLock { $0.outputs }
        var fresh: [(output: AccessLogOutput, fd: Int32)] = []
        for output in outputs {
            guard let path = output.path else { continue }
            do {
                fresh.append((output, try AccessLogOutput.openFile(path)))
                log.info("access log reopened: \(path)")
            } catch {
                log.error("\(error); still writing to the file open before SIGUSR1")
            }
        }
        guard !fresh.isEmpty else { return }
        shared.withLock { $0.reopened += fresh }
        wake.signal()
    }

    /// Writes out everything queued so far, then calls `done` (on the writer thread).
    package func flush(_ done: @escaping @Sendable () -> Void) {
        shared.withLock { $0.flushRequests.append(done) }
        wake.signal()
    }

    /// Lines written, and lines dropped (refused by a full ring, or lost to a write error).
    package var stats: AccessLogStats {
        let (outputs, retiring, retired) = shared.withLock { ($0.outputs, $0.retiring, $0.refusedByRetired) }
        let refused = (outputs + retiring).reduce(retired) { $0 &+ $1.refused }
        return AccessLogStats(linesWritten: linesWritten.load(ordering: .relaxed),
                              linesDropped: refused &+ linesLost.load(ordering: .relaxed))
    }

    // MARK: writer thread

    private func run() {
        var failing: Set<ObjectIdentifier> = []
        while true {
            let idle = shared.withLock { $0.outputs.isEmpty && $0.retiring.isEmpty }
            wake.wait(timeoutMilliseconds: idle ? -1 : AccessLogWriter.intervalMilliseconds)
            let (outputs, retiring, reopened, flushes) = shared.withLock { state in
                defer {
                    state.reopened.removeAll()
                    state.flushRequests.removeAll()
                }
                return (state.outputs, state.retiring, state.reopened, state.flushRequests)
            }
            for (output, fd) in reopened {
                guard output.fd >= 0 else {  // retired meanwhile
                    Glibc.close(fd)
                    continue
                }
                write(output, &failing)
                output.closeFile()
                output.fd = fd
            }
            for output in outputs + retiring { write(output, &failing) }
            if !retiring.isEmpty {
                for output in retiring { output.closeFile() }
                shared.withLock { state in
                    state.retiring.removeAll { old in retiring.contains { $0 === old } }
                    state.refusedByRetired = retiring.reduce(state.refusedByRetired) { $0 &+ $1.refused }
                }
            }
            for done in flushes { done() }
        }
    }

    private func write(_ output: AccessLogOutput, _ failing: inout Set<ObjectIdentifier>) {
        guard output.fd >= 0 else { return }
        let outcome = AccessLogDrain.drain(output.rings, to: output.fd)
        linesWritten.add(outcome.lines, ordering: .relaxed)
        linesLost.add(outcome.lost, ordering: .relaxed)
        // One error line when writes start failing, one when they work again: not one per round.
        let id = ObjectIdentifier(output)
        let name = output.path ?? "stdout"
        if let code = outcome.error {
            if failing.insert(id).inserted {
                log.error("access log \(name): write failed: \(String(cString: strerror(code))); dropping lines until it works again")
            }
        } else if outcome.lines > 0, failing.remove(id) != nil {
            log.notice("access log \(name): writing again")
        }
    }
}

/// The access log's counters, for `/metrics`.
public struct AccessLogStats: Sendable, Equatable {
    public var linesWritten: UInt64 = 0
    public var linesDropped: UInt64 = 0

    public init(linesWritten: UInt64 = 0, linesDropped: UInt64 = 0) {
        self.linesWritten = linesWritten
        self.linesDropped = linesDropped
    }
}

import Balancer
import EventLoop
import Logging

/// Active health checks (`health_check:` of INTERFACE.md) for every configured backend, on one
/// thread of their own running one epoll loop: never on a data-plane worker, never a thread per
/// probe. Each target is probed first after a random delay within one interval, then every
/// interval ± 10 % (so a fleet does not probe in lock-step); a probe's `timeout` covers connect,
/// request and response head. Results go through `Hysteresis` (rise/fall in one counter).
///
/// Threads: `start`, `configure`, `stop` are meant for the control queue (any one thread at a
/// time); `states` and `state(of:)` may be called from anywhere. `onChange` runs on the checker
/// thread, once per transition, after `states()` already shows it: it must be quick (it delays
/// every probe behind it) and thread-safe, and must not call `stop()` (which waits for that
/// thread). A backend's first `checking` is not a transition and is not reported.
///
/// Time: the checker thread's loop runs on CLOCK_MONOTONIC (its timerfd); all time arithmetic is
/// in `HealthSchedule`, which takes `now` as a parameter and is tested with explicit times. The
/// jitter's generator is seeded from `seed`.
public final class HealthChecker: Sendable {
    private let mailbox: Mailbox<HealthCommand>
    private let table = HealthStateTable()
    private let onChange: @Sendable (BackendIdentity, HealthState) -> Void
    private let seed: UInt64
    private let threadName: String
    private let thread = Locked<Lifecycle>(.idle)

    private enum Lifecycle {
        case idle
        case running(LoopThread)
        case stopped
    }

    /// - Parameters:
    ///   - seed: seeds the jitter of probe times; nil picks one at random. Tests pass one to get
    ///     the same schedule every run.
    ///   - threadName: the checker thread's name (as `top -H` shows it), at most 15 bytes kept.
    ///   - onChange: called on the checker thread for each transition (see the type's comment).
    public init(seed: UInt64? = nil, threadName: String = "cutover-health",
                onChange: @escaping @Sendable (BackendIdentity, HealthState) -> Void) throws(SyscallError) {
        mailbox = try Mailbox<HealthCommand>()
        self.seed = seed ?? UInt64.random(in: .min ... .max)
        self.threadName = threadName
        self.onChange = onChange
    }

    deinit {
        stop()
    }

    /// Starts the checker thread. Targets configured before are probed from now on. Calling it
    /// again, or after `stop`, does nothing.
    public func start() throws(SyscallError) {
        try thread.withLock { lifecycle throws(SyscallError) in
            guard case .idle = lifecycle else { return }
            let loop = try EventLoop(mailboxFD: mailbox.eventFD)
            let handler = HealthLoop(loop: loop, mailbox: mailbox, table: table, seed: seed, onChange: onChange)
            let handoff = Handoff(loop: loop, handler: handler)
            let name = threadName
            lifecycle = .running(LoopThread(name: name) { handoff.run(threadName: name) })
        }
    }

    /// Replaces the set of targets (asynchronously: the checker thread applies it between two
    /// events). Per identity: unchanged target → keeps its state, counter and schedule; changed
    /// check or address → keeps its state, takes the new thresholds and timing; new → `checking`;
    /// absent → no longer probed. Targets repeating an identity are ignored after the first.
    /// `states()` reflects the new set as soon as this returns.
    public func configure(_ targets: [HealthTarget]) {
        table.configure(targets.map(\.identity)) { sequence in
            mailbox.post(.configure(targets, sequence: sequence))
        }
    }

    /// States to start from, for backends handed over by an upgrade: a healthy backend stays in
    /// rotation, an unhealthy one out, without waiting for `rise` checks. Call before `configure`.
    public func seed(_ states: [BackendIdentity: HealthState]) {
        mailbox.post(.seed(states))
    }

    /// Stops probing and waits for the checker thread to end (closing the probes in flight).
    /// The last states stay readable. Not from `onChange`.
    public func stop() {
        let running: LoopThread? = thread.withLock { lifecycle in
            defer { lifecycle = .stopped }
            guard case .running(let thread) = lifecycle else { return nil }
            return thread
        }
        guard let running else { return }
        mailbox.post(.stop)
        running.join()
    }

    /// Every configured backend's current state (a copy).
    public func states() -> [BackendIdentity: HealthState] {
        table.read()
    }

    /// One backend's current state; nil when it is not configured.
    public func state(of identity: BackendIdentity) -> HealthState? {
        table.state(of: identity)
    }
}

/// Hands the loop and its handler, created on the caller's thread (so `start` can report a
/// failure), to the checker thread. `@unchecked Sendable`: after the hand-off only that thread
/// touches them.
private final class Handoff: @unchecked Sendable {
    private let loop: EventLoop
    private let handler: HealthLoop

    init(loop: EventLoop, handler: HealthLoop) {
        self.loop = loop
        self.handler = handler
    }

    func run(threadName: String) {
        do {
            try loop.run(handler)
        } catch {
            log.error("health checker (\(threadName)) stopped: \(error)")
        }
        handler.shutDown()
    }
}

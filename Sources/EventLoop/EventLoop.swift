import CLinux
import Glibc

/// What a loop calls back into. Implemented by one concrete final class per use (the worker),
/// so calls are direct after specialization.
public protocol EventLoopHandler: AnyObject {
    /// An I/O event on a descriptor the handler registered.
    func handle(fd: Int32, events: IOEvents)
    /// A timer scheduled with `schedule(deadline:token:)` reached its deadline.
    func timerFired(token: UInt64)
    /// The mailbox's eventfd fired: drain it.
    func mailboxReady()
    /// After each batch of events: the place to flush work deferred during the batch.
    func iterationEnded()
}

/// One epoll loop, confined to the thread that runs it: a selector, one timerfd driving a heap of
/// deadlines, and the eventfd of a mailbox for cross-thread messages.
public final class EventLoop {
    public let selector: Selector
    /// Monotonic nanoseconds, read once per iteration: precise enough for timeouts.
    public private(set) var now: UInt64 {
        get { clock.now }
        set { clock.cell.pointee = newValue }
    }
    /// The same `now`, for connections and exchanges to keep a copy of.
    public let clock: LoopClock
    private var timers = TimerHeap()
    private let timerFD: Int32
    private var armedDeadline: UInt64 = .max
    private let mailboxFD: Int32
    private var running = false

    public init(mailboxFD: Int32) throws(SyscallError) {
        selector = try Selector()
        timerFD = try syscallBlocking("timerfd_create") {
            timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        }
        self.mailboxFD = mailboxFD
        clock = LoopClock()
        now = MonotonicClock.now()
        try selector.register(timerFD, readable: true, writable: false)
        try selector.register(mailboxFD, readable: true, writable: false)
    }

    deinit {
        Glibc.close(timerFD)
        clock.cell.deallocate()
    }

    public var pendingTimers: Int { timers.count }

    /// Calls `timerFired(token)` at or after `deadline`. The timerfd is re-armed only when this
    /// deadline is earlier than the one already armed.
    public func schedule(deadline: UInt64, token: UInt64) {
        timers.push(deadline: deadline, token: token)
        if deadline < armedDeadline { arm(deadline) }
    }

    public func refreshNow() { now = MonotonicClock.now() }

    /// Runs until `stop()` is called from a handler callback.
    public func run<Handler: EventLoopHandler>(_ handler: Handler) throws(SyscallError) {
        running = true
        while running {
            let count = try selector.poll(timeoutMilliseconds: -1)
            // After the wait, not only before it: handlers stamp activity with `now`, and the
            // value from before epoll_wait is stale by however long the loop slept.
            now = MonotonicClock.now()
            for i in 0..<count {
                guard let (fd, events) = selector.event(at: i) else { continue }
                if fd == timerFD {
                    drainTimerFD()
                } else if fd == mailboxFD {
                    handler.mailboxReady()
                } else {
                    handler.handle(fd: fd, events: events)
                }
            }
            now = MonotonicClock.now()
            fireExpiredTimers(handler)
            handler.iterationEnded()
        }
    }

    public func stop() { running = false }

    private func drainTimerFD() {
        var expirations: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &expirations) { Glibc.read(timerFD, $0.baseAddress, 8) }
        armedDeadline = .max
    }

    private func fireExpiredTimers<Handler: EventLoopHandler>(_ handler: Handler) {
        guard let earliest = timers.earliest, earliest <= now || armedDeadline == .max else { return }
        while let entry = timers.popExpired(now: now) {
            handler.timerFired(token: entry.token)
        }
        if let next = timers.earliest, next < armedDeadline || armedDeadline <= now {
            arm(next)
        }
    }

    private func arm(_ deadline: UInt64) {
        armedDeadline = deadline
        var spec = itimerspec()
        // Absolute time; a deadline already past still fires promptly (1 ns after the epoch).
        let target = max(deadline, 1)
        spec.it_value.tv_sec = Int(target / 1_000_000_000)
        spec.it_value.tv_nsec = Int(target % 1_000_000_000)
        _ = timerfd_settime(timerFD, Int32(TFD_TIMER_ABSTIME), &spec, nil)
    }
}

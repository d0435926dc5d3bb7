import CLinux
import EventLoop
import Glibc
import Testing

/// The loop's timers go through its one timerfd: these tests run the real loop and let the kernel
/// wake it. A watchdog timerfd (see `runLoop`) stops a loop whose timers never fire.
@Suite struct EventLoopTimerTests {
    @Test func timersFireInDeadlineOrderThroughTheTimerfd() throws {
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        let base = MonotonicClock.now()
        // Scheduled out of order, a few milliseconds apart; the token is the expected rank.
        let plan: [(offset: UInt64, token: UInt64)] = [(24, 3), (8, 1), (32, 4), (16, 2), (3, 0), (40, 5)]
        var deadlines: [UInt64: UInt64] = [:]
        for step in plan {
            let deadline = base + step.offset * millisecond
            deadlines[step.token] = deadline
            loop.schedule(deadline: deadline, token: step.token)
        }
        #expect(loop.pendingTimers == plan.count)

        var early: [UInt64] = []
        handler.onTimer = { h, token in
            if MonotonicClock.now() < deadlines[token]! { early.append(token) }
            if h.timerTokens.count == plan.count { h.stop() }
        }
        let finished = try runLoop(loop, handler)
        #expect(finished, "watchdog stopped the loop; timers fired: \(handler.timerTokens)")
        #expect(handler.timerTokens == [0, 1, 2, 3, 4, 5])
        #expect(early.isEmpty, "fired before their deadline: \(early)")
        #expect(loop.pendingTimers == 0)
        // Woken by the timerfd, not spinning: about one iteration per distinct deadline.
        #expect(handler.iterations <= 3 * plan.count)
    }

    @Test func equalDeadlinesAllFireInOneWakeUp() throws {
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        let deadline = MonotonicClock.now() + 5 * millisecond
        for token in 10..<15 as Range<UInt64> { loop.schedule(deadline: deadline, token: token) }
        handler.onTimer = { h, _ in if h.timerTokens.count == 5 { h.stop() } }

        #expect(try runLoop(loop, handler))
        #expect(handler.timerTokens.sorted() == [10, 11, 12, 13, 14])
        #expect(loop.pendingTimers == 0)
    }

    @Test(arguments: [UInt64(0), 1, 1_000_000_000])
    func aDeadlineAlreadyPastFiresPromptly(age: UInt64) throws {
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        let start = MonotonicClock.now()
        // age 0 means deadline 0, the one value a timerfd would read as "disarm".
        let deadline = age == 0 ? 0 : start - age
        // A far timer armed first: the past one must re-arm the timerfd earlier.
        loop.schedule(deadline: start + 3_600_000 * millisecond, token: 99)
        loop.schedule(deadline: deadline, token: 1)
        var firedAfter: UInt64 = 0
        var firedInIteration = -1
        handler.onTimer = { h, _ in
            firedAfter = MonotonicClock.now() - start
            firedInIteration = h.iterations
            h.stop()
        }

        #expect(try runLoop(loop, handler))
        #expect(handler.timerTokens == [1])
        #expect(firedInIteration == 0, "must fire on the loop's first wake-up")
        #expect(firedAfter < 3_000 * millisecond, "took \(firedAfter / millisecond) ms")
        #expect(loop.pendingTimers == 1, "the far timer must still be pending")
    }

    @Test func aTimerScheduledFromTimerFiredFires() throws {
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        let base = MonotonicClock.now()
        loop.schedule(deadline: base + 2 * millisecond, token: 1)
        loop.schedule(deadline: base + 30 * millisecond, token: 3)
        handler.onTimer = { h, token in
            switch token {
            case 1:
                // Earlier than the pending 3, later than it, and one already due. Deadlines
                // are fixed from `base`, so the expected order holds even on a slow machine.
                loop.schedule(deadline: base + 10 * millisecond, token: 2)
                loop.schedule(deadline: base + 45 * millisecond, token: 4)
                loop.schedule(deadline: base, token: 5)
            case 4:
                h.stop()
            default:
                break
            }
        }

        let finished = try runLoop(loop, handler)
        #expect(finished, "watchdog stopped the loop; timers fired: \(handler.timerTokens)")
        #expect(handler.timerTokens == [1, 5, 2, 3, 4])
        #expect(loop.pendingTimers == 0)
    }

    @Test func aTimerScheduledFromAnIOHandlerFires() throws {
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        let (a, b) = makeSocketPair()
        defer { Glibc.close(a); Glibc.close(b) }
        try loop.selector.register(a, readable: true, writable: false)
        writeAll(b, [1])
        handler.onIO = { _, fd, _ in
            if fd == a { loop.schedule(deadline: MonotonicClock.now() + 3 * millisecond, token: 7) }
        }
        handler.onTimer = { h, _ in h.stop() }

        #expect(try runLoop(loop, handler))
        #expect(handler.timerTokens == [7])
    }
}

@Suite struct EventLoopDispatchTests {
    /// Handlers compute deadlines from `loop.now` (lastActivity = loop.now on every read), so it
    /// must not be the time before the loop blocked in epoll_wait.
    @Test func nowIsFreshWhenIOHandlersRun() throws {
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        // A descriptor that can only become readable at `deadline`: a timerfd of our own.
        let deadline = MonotonicClock.now() + 30 * millisecond
        let fd = makeTimerFD(deadline: deadline)
        defer { loop.selector.deregister(fd); Glibc.close(fd) }
        try loop.selector.register(fd, readable: true, writable: false)
        // Connections read `now` through a copy of the loop's clock: it must be the same value.
        let clock = loop.clock
        var nowSeen: UInt64 = 0
        var clockSeen: UInt64 = 0
        handler.onIO = { h, eventFD, _ in
            if eventFD == fd { nowSeen = loop.now; clockSeen = clock.now; h.stop() }
        }

        #expect(try runLoop(loop, handler))
        #expect(nowSeen >= deadline,
                "loop.now was \((deadline - min(nowSeen, deadline)) / millisecond) ms stale in handle(fd:events:)")
        #expect(clockSeen == nowSeen)
    }

    @Test func ioEventsReachTheHandler() throws {
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        let (a, b) = makeSocketPair()
        defer { Glibc.close(a); Glibc.close(b) }
        try loop.selector.register(a, readable: true, writable: false)
        writeAll(b, Array("ping".utf8))
        handler.onIO = { h, _, _ in h.stop() }

        #expect(try runLoop(loop, handler))
        #expect(handler.ioEvents.count == 1)
        #expect(handler.ioEvents.first?.fd == a)
        #expect(handler.ioEvents.first?.events.readable == true)
        #expect(handler.ioEvents.first?.events.writable == false)
        #expect(handler.iterations == 1)
        #expect(handler.mailboxWakeups == 0)
        #expect(handler.timerTokens.isEmpty)
    }

    /// Two descriptors ready in the same batch; whichever is handled first forgets both (as a
    /// handler closing a connection pair does), so the other's queued event must be dropped.
    @Test func forgettingADescriptorMidBatchDropsItsQueuedEvent() throws {
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        let (a, aPeer) = makeSocketPair()
        let (b, bPeer) = makeSocketPair()
        defer { [a, aPeer, b, bPeer].forEach { Glibc.close($0) } }
        try loop.selector.register(a, readable: true, writable: false)
        try loop.selector.register(b, readable: true, writable: false)
        writeAll(aPeer, [1])
        writeAll(bPeer, [2])
        // Both are ready before the first epoll_wait, so both are in its batch.
        try #require(waitFor(a, POLLIN) & POLLIN != 0)
        try #require(waitFor(b, POLLIN) & POLLIN != 0)
        handler.onIO = { h, _, _ in
            loop.selector.forget(a)
            loop.selector.forget(b)
            h.stop()
        }

        #expect(try runLoop(loop, handler))
        #expect(handler.ioEvents.count == 1, "delivered: \(handler.ioEvents.map(\.fd))")
        #expect(handler.iterations == 1)
    }
}

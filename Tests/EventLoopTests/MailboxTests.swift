import CLinux
import EventLoop
import Glibc
import Synchronization
import Testing

/// Reads (and so resets) an eventfd counter; nil when it is zero (EAGAIN).
private func takeEventFDCounter(_ fd: Int32) -> UInt64? {
    var counter: UInt64 = 0
    let n = withUnsafeMutableBytes(of: &counter) { Glibc.read(fd, $0.baseAddress, 8) }
    if n < 0 {
        #expect(errno == EAGAIN)
        return nil
    }
    #expect(n == 8)
    return counter
}

private struct Tagged: Sendable, Equatable {
    var poster: Int
    var sequence: Int
}

@Suite struct MailboxTests {
    @Test func postsFromAnotherThreadAllArriveInOrder() throws {
        let count = 20_000
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        var received: [Int] = []
        handler.onMailbox = { h in
            received.append(contentsOf: mailbox.drain())
            if received.count >= count { h.stop() }
        }

        let poster = LoopThread(name: "test-poster") {
            for i in 0..<count { mailbox.post(i) }
        }
        let finished = try runLoop(loop, handler)
        poster.join()

        #expect(finished, "watchdog stopped the loop after \(received.count) of \(count) messages")
        #expect(received.count == count)
        #expect(received == Array(0..<count))
        #expect(handler.mailboxWakeups >= 1)
        // Coalescing: never more wake-ups than messages (usually far fewer).
        #expect(handler.mailboxWakeups <= count)
    }

    /// Lock-step: the poster waits for the loop to acknowledge each drain before posting again,
    /// so every message needs its own eventfd wake-up of a loop that has already drained.
    @Test func everyPostAfterADrainWakesTheLoopAgain() throws {
        let rounds = 2_000
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        var acks: [Int32] = [-1, -1]
        try #require(pipe(&acks) == 0)   // blocking on purpose: the poster waits in read(2)
        let (ackRead, ackWrite) = (acks[0], acks[1])
        var ackWriteOpen = true
        defer {
            Glibc.close(ackRead)
            if ackWriteOpen { Glibc.close(ackWrite) }
        }

        var received: [Int] = []
        handler.onMailbox = { h in
            let batch = mailbox.drain()
            received.append(contentsOf: batch)
            for _ in batch { writeAll(ackWrite, [1]) }
            if received.count >= rounds { h.stop() }
        }
        let poster = LoopThread(name: "test-lockstep") {
            var byte: UInt8 = 0
            for i in 0..<rounds {
                mailbox.post(i)
                guard Glibc.read(ackRead, &byte, 1) == 1 else { return }
            }
        }
        let finished = try runLoop(loop, handler)
        if !finished {   // unblock the poster so join returns
            Glibc.close(ackWrite)
            ackWriteOpen = false
        }
        poster.join()

        #expect(finished, "watchdog stopped the loop after \(received.count) of \(rounds) messages")
        #expect(received == Array(0..<rounds))
        #expect(handler.mailboxWakeups == rounds)
    }

    @Test func concurrentPostersLoseNothingAndKeepEachPostersOrder() throws {
        let posters = 4
        let perPoster = 5_000
        let mailbox = try Mailbox<Tagged>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        var received: [Tagged] = []
        handler.onMailbox = { h in
            received.append(contentsOf: mailbox.drain())
            if received.count >= posters * perPoster { h.stop() }
        }

        let threads = (0..<posters).map { p in
            LoopThread(name: "test-poster-\(p)") {
                for i in 0..<perPoster { mailbox.post(Tagged(poster: p, sequence: i)) }
            }
        }
        let finished = try runLoop(loop, handler)
        threads.forEach { $0.join() }

        #expect(finished, "watchdog stopped the loop after \(received.count) messages")
        for p in 0..<posters {
            #expect(received.filter { $0.poster == p }.map(\.sequence) == Array(0..<perPoster))
        }
    }

    /// A burst of posts before the loop drains writes the eventfd once: its counter reads 1.
    @Test func aBurstOfPostsWritesTheEventFDOnce() throws {
        let mailbox = try Mailbox<Int>()
        for i in 0..<100 { mailbox.post(i) }
        #expect(takeEventFDCounter(mailbox.eventFD) == 1)

        // The wake-up is still pending (we consumed it behind the mailbox's back): more posts
        // must not write again, and a drain returns everything.
        mailbox.post(100)
        #expect(takeEventFDCounter(mailbox.eventFD) == nil)
        #expect(mailbox.drain() == Array(0...100))
        #expect(mailbox.drain().isEmpty)

        // After a drain the next post wakes the loop again, once.
        mailbox.post(7)
        mailbox.post(8)
        #expect(takeEventFDCounter(mailbox.eventFD) == 1)
        #expect(mailbox.drain() == [7, 8])
    }

    @Test func drainResetsTheEventFD() throws {
        let mailbox = try Mailbox<Int>()
        mailbox.post(1)
        #expect(mailbox.drain() == [1])
        #expect(takeEventFDCounter(mailbox.eventFD) == nil)
        #expect(waitFor(mailbox.eventFD, POLLIN, timeoutMilliseconds: 0) == 0)
    }

    @Test func aBurstBeforeTheLoopRunsIsDeliveredInOneWakeUp() throws {
        let count = 1_000
        let mailbox = try Mailbox<Int>()
        let loop = try EventLoop(mailboxFD: mailbox.eventFD)
        let handler = RecordingHandler()
        for i in 0..<count { mailbox.post(i) }
        var received: [Int] = []
        handler.onMailbox = { h in
            received.append(contentsOf: mailbox.drain())
            if received.count >= count { h.stop() }
        }

        #expect(try runLoop(loop, handler))
        #expect(received == Array(0..<count))
        #expect(handler.mailboxWakeups == 1)
    }
}

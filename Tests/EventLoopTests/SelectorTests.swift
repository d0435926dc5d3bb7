import CLinux
import EventLoop
import Glibc
import Testing

/// Polls once and returns the live events (stale ones are dropped by `event(at:)`) plus the raw
/// count the kernel reported.
private func pollLive(_ selector: Selector, timeoutMilliseconds: Int32 = 5000) throws -> (raw: Int, live: [(fd: Int32, events: IOEvents)]) {
    let count = try selector.poll(timeoutMilliseconds: timeoutMilliseconds)
    return (count, (0..<count).compactMap { selector.event(at: $0) })
}

@Suite struct SelectorTests {
    @Test func aLiveEventIsDelivered() throws {
        let selector = try Selector()
        let (a, peer) = makeSocketPair()
        defer { Glibc.close(a); Glibc.close(peer) }
        let generation = try selector.register(a, readable: true, writable: false)
        #expect(generation != 0)
        #expect(selector.generation(of: a) == generation)

        // Nothing ready yet.
        #expect(try selector.poll(timeoutMilliseconds: 0) == 0)

        writeAll(peer, [42])
        let (raw, live) = try pollLive(selector)
        #expect(raw == 1)
        #expect(live.count == 1)
        #expect(live.first?.fd == a)
        #expect(live.first?.events.readable == true)

        // Edge-triggered: no new edge, no new event.
        #expect(try selector.poll(timeoutMilliseconds: 0) == 0)
    }

    @Test func generationsAreDistinctPerRegistration() throws {
        let selector = try Selector()
        let (a, b) = makeSocketPair()
        defer { Glibc.close(a); Glibc.close(b) }
        let ga = try selector.register(a)
        let gb = try selector.register(b)
        #expect(ga != gb)
        selector.forget(a)
        #expect(selector.generation(of: a) == 0)
        #expect(selector.generation(of: b) == gb)
        selector.deregister(b)
        #expect(selector.generation(of: b) == 0)
        // Deregistered: it can be registered again, with a new generation.
        let gb2 = try selector.register(b)
        #expect(gb2 != gb && gb2 != 0)
    }

    /// Forgotten before the poll: the kernel still reports the event (forget makes no syscall),
    /// but `event(at:)` recognises it as stale. A live descriptor in the same batch still arrives.
    @Test func anEventForAForgottenDescriptorIsDropped() throws {
        let selector = try Selector()
        let (stale, stalePeer) = makeSocketPair()
        let (live, livePeer) = makeSocketPair()
        defer { [stale, stalePeer, live, livePeer].forEach { Glibc.close($0) } }
        try selector.register(stale, readable: true, writable: false)
        try selector.register(live, readable: true, writable: false)
        writeAll(stalePeer, [1])
        writeAll(livePeer, [2])
        selector.forget(stale)

        let (raw, events) = try pollLive(selector)
        #expect(raw == 2, "the kernel reports both; only one is live")
        #expect(events.map(\.fd) == [live])
    }

    /// The case the generations exist for: a batch holds an event for descriptor N; before it is
    /// dispatched, N is closed and the number reused by a new, registered socket. The queued event
    /// must not be delivered to the new socket; the new socket's own events must be.
    @Test func anEventQueuedBeforeTheFDNumberWasReusedIsDropped() throws {
        let selector = try Selector()
        let (fd, oldPeer) = makeSocketPair()
        defer { Glibc.close(oldPeer) }
        let oldGeneration = try selector.register(fd, readable: true, writable: false)
        writeAll(oldPeer, [1])
        #expect(try selector.poll(timeoutMilliseconds: 5000) == 1)
        #expect(selector.event(at: 0)?.fd == fd, "live before the reuse")

        // Reuse the number deterministically: dup2 atomically closes the old socket (which drops
        // it from the epoll set) and makes `fd` name a new one. No other thread can take it.
        let (replacement, newPeer) = makeSocketPair()
        defer { Glibc.close(newPeer) }
        #expect(dup2(replacement, fd) == fd)
        Glibc.close(replacement)
        defer { Glibc.close(fd) }
        let newGeneration = try selector.register(fd, readable: true, writable: false)
        #expect(newGeneration != oldGeneration)

        #expect(selector.event(at: 0) == nil, "stale event delivered for a reused descriptor")

        writeAll(newPeer, [2])
        let (raw, live) = try pollLive(selector)
        #expect(raw == 1)
        #expect(live.map(\.fd) == [fd])
        var byte: UInt8 = 0
        #expect(Glibc.read(fd, &byte, 1) == 1)
        #expect(byte == 2, "the descriptor is the new socket")
    }

    @Test func deregisteredDescriptorsReportNothing() throws {
        let selector = try Selector()
        let (a, peer) = makeSocketPair()
        defer { Glibc.close(a); Glibc.close(peer) }
        try selector.register(a, readable: true, writable: false)
        selector.deregister(a)
        writeAll(peer, [1])
        #expect(try selector.poll(timeoutMilliseconds: 0) == 0)
    }

    /// Descriptors above the initial 1024-entry generation table grow it.
    @Test func highDescriptorNumbersAreTracked() throws {
        var limit = rlimit()
        try #require(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        try #require(limit.rlim_cur > 3000, "RLIMIT_NOFILE too low for this test")
        let selector = try Selector()
        let (low, peer) = makeSocketPair()
        defer { Glibc.close(peer) }
        let high = fcntl(low, F_DUPFD_CLOEXEC, Int32(2500))
        Glibc.close(low)
        try #require(high >= 2500)
        defer { Glibc.close(high) }

        let generation = try selector.register(high, readable: true, writable: false)
        #expect(selector.generation(of: high) == generation)
        writeAll(peer, [1])
        let (_, live) = try pollLive(selector)
        #expect(live.map(\.fd) == [high])
    }

    @Test func writableAndHangupAreReported() throws {
        let selector = try Selector()
        let (a, peer) = makeSocketPair()
        defer { Glibc.close(a) }
        try selector.register(a, readable: true, writable: true)
        let (_, first) = try pollLive(selector)
        #expect(first.count == 1)
        #expect(first.first?.events.writable == true)
        #expect(first.first?.events.readable == false)

        Glibc.close(peer)
        let (_, second) = try pollLive(selector)
        #expect(second.count == 1)
        #expect(second.first?.events.readHangup == true)
        #expect(second.first?.events.readable == true, "a hang-up must wake a reader")
    }

    @Test func ioEventsFlagsMapEpollBits() {
        #expect(IOEvents(rawValue: cutover_epollin()).readable)
        #expect(!IOEvents(rawValue: cutover_epollin()).writable)
        #expect(IOEvents(rawValue: cutover_epollout()).writable)
        #expect(!IOEvents(rawValue: cutover_epollout()).readable)
        let error = IOEvents(rawValue: cutover_epollerr())
        #expect(error.readable && error.writable && error.hangup)
        let hup = IOEvents(rawValue: cutover_epollhup())
        #expect(hup.readable && hup.writable && hup.hangup && !hup.readHangup)
        let rdhup = IOEvents(rawValue: cutover_epollrdhup())
        #expect(rdhup.readable && rdhup.readHangup && !rdhup.hangup && !rdhup.writable)
    }
}

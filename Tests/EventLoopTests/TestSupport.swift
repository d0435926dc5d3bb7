import CLinux
import EventLoop
import Glibc
import Testing

/// Test-only helpers: a seeded generator, a recording loop handler with a watchdog, and small
/// wrappers around descriptors. Everything waits on the kernel (epoll, poll(2), timerfd); nothing
/// sleeps.

/// SplitMix64: a tiny, seedable generator so property-style tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let millisecond: UInt64 = 1_000_000

/// An `EventLoopHandler` that records every callback and lets each test decide when to stop.
final class RecordingHandler: EventLoopHandler {
    weak var loop: EventLoop?
    var ioEvents: [(fd: Int32, events: IOEvents)] = []
    var timerTokens: [UInt64] = []
    var mailboxWakeups = 0
    var iterations = 0
    var onIO: ((RecordingHandler, Int32, IOEvents) -> Void)?
    var onTimer: ((RecordingHandler, UInt64) -> Void)?
    var onMailbox: ((RecordingHandler) -> Void)?

    /// A timerfd of the test's own, independent of the loop's timer heap, that stops a loop which
    /// would otherwise wait forever: a failing test fails instead of hanging.
    fileprivate var watchdogFD: Int32 = -1
    fileprivate var watchdogFired = false

    func stop() { loop?.stop() }

    func handle(fd: Int32, events: IOEvents) {
        if fd == watchdogFD {
            watchdogFired = true
            loop?.stop()
            return
        }
        ioEvents.append((fd, events))
        onIO?(self, fd, events)
    }

    func timerFired(token: UInt64) {
        timerTokens.append(token)
        onTimer?(self, token)
    }

    func mailboxReady() {
        mailboxWakeups += 1
        onMailbox?(self)
    }

    func iterationEnded() { iterations += 1 }
}

/// A timerfd armed `after` nanoseconds from now (relative) or at `deadline` (absolute).
func makeTimerFD(after nanoseconds: UInt64? = nil, deadline: UInt64? = nil) -> Int32 {
    let fd = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
    precondition(fd >= 0, "timerfd_create: \(errno)")
    var spec = itimerspec()
    let value = nanoseconds ?? deadline ?? 1
    spec.it_value.tv_sec = Int(value / 1_000_000_000)
    spec.it_value.tv_nsec = Int(value % 1_000_000_000)
    let flags = deadline != nil ? Int32(TFD_TIMER_ABSTIME) : 0
    precondition(timerfd_settime(fd, flags, &spec, nil) == 0, "timerfd_settime: \(errno)")
    return fd
}

/// Runs `loop` with `handler` until a callback stops it. Returns false when the watchdog had to
/// stop it after `limitMilliseconds`.
func runLoop(_ loop: EventLoop, _ handler: RecordingHandler, limitMilliseconds: UInt64 = 20_000) throws -> Bool {
    let watchdog = makeTimerFD(after: limitMilliseconds * millisecond)
    try loop.selector.register(watchdog, readable: true, writable: false)
    handler.loop = loop
    handler.watchdogFD = watchdog
    handler.watchdogFired = false
    defer {
        loop.selector.deregister(watchdog)
        Glibc.close(watchdog)
        handler.watchdogFD = -1
    }
    try loop.run(handler)
    return !handler.watchdogFired
}

/// A connected pair of non-blocking AF_UNIX stream sockets.
func makeSocketPair() -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    let rc = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | cutover_sock_nonblock_cloexec(), 0, &fds)
    precondition(rc == 0, "socketpair: \(errno)")
    return (fds[0], fds[1])
}

/// Writes all of `bytes` to a descriptor that has room for them (small test payloads).
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    precondition(written == bytes.count, "short write \(written) errno \(errno)")
}

/// Waits with poll(2) (level-triggered, independent of the code under test) until `fd` reports
/// any of `events`; returns the reported events, or 0 on timeout.
@discardableResult
func waitFor(_ fd: Int32, _ events: Int32, timeoutMilliseconds: Int32 = 10_000) -> Int32 {
    var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
    while true {
        let rc = Glibc.poll(&entry, 1, timeoutMilliseconds)
        if rc < 0 && errno == EINTR { continue }
        return rc > 0 ? Int32(entry.revents) : 0
    }
}

/// A listener on 127.0.0.1 with an ephemeral port, and its address.
func makeListener() throws -> (fd: Int32, address: SocketAddress) {
    let any = try #require(SocketAddress(ip: "127.0.0.1", port: 0))
    let fd = try Socket.listen(on: any, backlog: 16)
    let address = try #require(Socket.localAddress(fd))
    return (fd, address)
}

/// A connected loopback TCP pair: (client side, accepted server side).
func makeTCPPair(listener: Int32, address: SocketAddress) throws -> (client: Int32, server: Int32) {
    let (client, _) = try Socket.connect(to: address)
    try #require(waitFor(listener, POLLIN) & POLLIN != 0, "no connection to accept")
    guard case .processed(let accepted) = try Socket.accept(listener) else {
        Issue.record("accept would block after the listener was readable")
        throw SyscallError("accept4", errno: EAGAIN)
    }
    try #require(waitFor(client, POLLOUT) & POLLOUT != 0, "client never became writable")
    #expect(Socket.pendingError(client) == 0)
    return (client, accepted.fd)
}

/// Reads whatever is available now (the descriptor must be readable).
func readAvailable(_ fd: Int32, max: Int = 65536) throws -> IOResult<[UInt8]> {
    var scratch = [UInt8](repeating: 0, count: max)
    let result = try scratch.withUnsafeMutableBytes { raw throws(SyscallError) in try Socket.read(fd, into: raw) }
    switch result {
    case .wouldBlock: return .wouldBlock
    case .processed(let n): return .processed(Array(scratch[0..<n]))
    }
}

extension IOResult {
    var wouldBlock: Bool {
        if case .wouldBlock = self { return true }
        return false
    }

    var value: T? {
        if case .processed(let v) = self { return v }
        return nil
    }
}

import CLinux
import Glibc

/// What epoll reported for one descriptor.
public struct IOEvents: Sendable, Equatable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inline(__always) public var readable: Bool { rawValue & (cutover_epollin() | cutover_epollrdhup() | cutover_epollhup() | cutover_epollerr()) != 0 }
    @inline(__always) public var writable: Bool { rawValue & (cutover_epollout() | cutover_epollerr() | cutover_epollhup()) != 0 }
    @inline(__always) public var hangup: Bool { rawValue & (cutover_epollhup() | cutover_epollerr()) != 0 }
    @inline(__always) public var readHangup: Bool { rawValue & cutover_epollrdhup() != 0 }
}

/// epoll, edge-triggered. Each registration packs `generation << 32 | fd` into `data.u64`, and
/// the selector remembers the current generation of every fd, so an event queued for a descriptor
/// that was closed (and whose number was reused) within the same batch is recognised and dropped.
public final class Selector {
    public let epollFD: Int32
    private var generations: [UInt32]
    private var nextGeneration: UInt32 = 1
    private var events: UnsafeMutablePointer<epoll_event>
    private let capacity: Int32

    public init(maxEvents: Int32 = 256) throws(SyscallError) {
        epollFD = try syscallBlocking("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        generations = [UInt32](repeating: 0, count: 1024)
        capacity = maxEvents
        events = .allocate(capacity: Int(maxEvents))
    }

    deinit {
        events.deallocate()
        Glibc.close(epollFD)
    }

    /// Registers `fd` for reads and writes, edge-triggered; returns its generation.
    @discardableResult
    public func register(_ fd: Int32, readable: Bool = true, writable: Bool = true) throws(SyscallError) -> UInt32 {
        let index = Int(fd)
        if index >= generations.count {
            generations.append(contentsOf: repeatElement(0, count: max(index + 1 - generations.count, generations.count)))
        }
        let generation = nextGeneration
        nextGeneration = nextGeneration &+ 1
        if nextGeneration == 0 { nextGeneration = 1 }
        generations[index] = generation
        var interest = cutover_epollet() | cutover_epollrdhup()
        if readable { interest |= cutover_epollin() }
        if writable { interest |= cutover_epollout() }
        var event = epoll_event()
        event.events = interest
        event.data.u64 = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
        _ = try syscallBlocking("epoll_ctl") { epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) }
        return generation
    }

    /// Forgets `fd`: call before closing it. Events still queued for it become stale.
    public func deregister(_ fd: Int32) {
        let index = Int(fd)
        if index < generations.count { generations[index] = 0 }
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    /// Forgets `fd` without a syscall: close(2) removes it from the epoll set by itself (we never
    /// dup descriptors), so only the generation must change to make queued events stale.
    public func forget(_ fd: Int32) {
        let index = Int(fd)
        if index < generations.count { generations[index] = 0 }
    }

    public func generation(of fd: Int32) -> UInt32 {
        let index = Int(fd)
        return index < generations.count ? generations[index] : 0
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever); returns how many events are ready. Read
    /// them with `event(at:)`. Callers may register and forget descriptors while iterating.
    public func poll(timeoutMilliseconds: Int32) throws(SyscallError) -> Int {
        switch try syscall("epoll_wait", { epoll_wait(epollFD, events, capacity, timeoutMilliseconds) }) {
        case .processed(let n): return Int(n)
        case .wouldBlock: return 0
        }
    }

    /// Event `i` of the last poll, or nil when it is stale: its descriptor was forgotten or
    /// re-registered (a reused fd number) since the event was queued. Checked per event, not
    /// per batch, because an earlier event of the same batch may have closed it.
    @inline(__always)
    public func event(at i: Int) -> (fd: Int32, events: IOEvents)? {
        let event = events[i]
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: event.data.u64))
        let generation = UInt32(truncatingIfNeeded: event.data.u64 >> 32)
        guard Int(fd) < generations.count, generations[Int(fd)] == generation else { return nil }
        return (fd, IOEvents(rawValue: event.events))
    }
}

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
public struct Selector: ~Copyable {
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
    public mutating func register(_ fd: Int32, readable: Bool = true, writable: Bool = true) throws(SyscallError) -> UInt32 {
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
    public mutating func deregister(_ fd: Int32) {
        let index = Int(fd)
        if index < generations.count { generations[index] = 0 }
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    public func generation(of fd: Int32) -> UInt32 {
        let index = Int(fd)
        return index < generations.count ? generations[index] : 0
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and calls `body` for each live event.
    public mutating func wait(timeoutMilliseconds: Int32, _ body: (Int32, IOEvents) -> Void) throws(SyscallError) {
        let count: Int32
        switch try syscall("epoll_wait", { epoll_wait(epollFD, events, capacity, timeoutMilliseconds) }) {
        case .processed(let n): count = n
        case .wouldBlock: return
        }
        for i in 0..<Int(count) {
            let event = events[i]
            let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: event.data.u64))
            let generation = UInt32(truncatingIfNeeded: event.data.u64 >> 32)
            // Checked per event, not per batch: an earlier event in this batch may have closed it.
            guard Int(fd) < generations.count, generations[Int(fd)] == generation else { continue }
            body(fd, IOEvents(rawValue: event.events))
        }
    }
}

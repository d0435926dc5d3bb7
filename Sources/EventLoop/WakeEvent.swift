import CLinux
import Glibc

/// An eventfd one thread signals and another waits on with poll(2): how a data-plane loop nudges
/// a control-plane thread without a lock or a blocking call (the write never blocks: the counter
/// only saturates after 2^64 - 1 signals).
public final class WakeEvent: Sendable {
    public let fd: Int32

    public init() throws(SyscallError) {
        fd = try syscallBlocking("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
    }

    deinit { Glibc.close(fd) }

    /// Any thread: wakes the waiter (signals coalesce until it drains).
    public func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(fd, $0.baseAddress, 8) }
    }

    /// The waiting thread: waits until signalled or `timeoutMilliseconds` pass (-1: no limit),
    /// then resets the counter. Returns whether it was signalled.
    @discardableResult
    public func wait(timeoutMilliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = Glibc.poll(&entry, 1, timeoutMilliseconds)
        guard ready > 0 else { return false }
        var counter: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &counter) { Glibc.read(fd, $0.baseAddress, 8) }
        return true
    }
}

import CLinux
import Glibc
import Synchronization

/// Messages from other threads (the control plane) to one loop: a locked queue plus an eventfd.
/// The lock is only taken by posts (rare: reloads, shutdown) and by the loop when the eventfd
/// fired, never per request. The eventfd is written only when no wake-up is already pending.
public final class Mailbox<Message: Sendable>: Sendable {
    public let eventFD: Int32
    private let queue = Locked<[Message]>([])
    private let wakePending = Atomic<Bool>(false)

    public init() throws(SyscallError) {
        eventFD = try syscallBlocking("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
    }

    deinit {
        Glibc.close(eventFD)
    }

    /// Any thread: queue a message and wake the loop.
    public func post(_ message: Message) {
        queue.withLock { $0.append(message) }
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            _ = withUnsafeBytes(of: &one) { Glibc.write(eventFD, $0.baseAddress, 8) }
        }
    }

    /// Loop thread: take everything queued so far.
    public func drain() -> [Message] {
        var counter: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &counter) { Glibc.read(eventFD, $0.baseAddress, 8) }
        wakePending.store(false, ordering: .releasing)
        return queue.withLock { queued in
            let taken = queued
            queued.removeAll(keepingCapacity: true)
            return taken
        }
    }
}

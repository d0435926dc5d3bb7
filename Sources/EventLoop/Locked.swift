import Glibc

/// A value behind a lock, used like `Synchronization.Mutex` (`withLock`), built on
/// `pthread_mutex_t`. Why not `Mutex`: ThreadSanitizer intercepts pthread_mutex_lock/unlock and
/// so sees the order a `Locked` gives, while `Mutex` takes its futex inside the uninstrumented
/// libswiftSynchronization (out of line in debug builds), so `scripts/test --sanitize thread`
/// would report every access it guards as a race. Never on the per-request path: posts to a
/// mailbox, snapshots for the admin API, the health and access-log threads' shared state.
public final class Locked<Value> {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ initialValue: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        value = initialValue
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value, the lock held.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

/// Sendable like `Mutex` for a Sendable value: the lock orders every access to it.
extension Locked: @unchecked Sendable where Value: Sendable {}

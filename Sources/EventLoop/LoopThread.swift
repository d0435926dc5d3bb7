import CLinux
import Glibc

/// Starts a detached-from-Swift-concurrency OS thread running `body`; returns a handle to join.
public final class LoopThread: @unchecked Sendable {
    private var thread: pthread_t
    private final class Box { let body: () -> Void; init(_ body: @escaping () -> Void) { self.body = body } }

    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = handle
        _ = cutover_set_thread_name(handle, String(name.prefix(15)))
    }

    public func join() {
        pthread_join(thread, nil)
    }

    /// Starts a thread nobody joins (one per demo connection, a loop that runs until the process
    /// ends): detached, so one that returns gives its stack back instead of staying a zombie.
    public static func detached(name: String, _ body: @escaping @Sendable () -> Void) {
        let started = LoopThread(name: name, body)
        pthread_detach(started.thread)
    }
}

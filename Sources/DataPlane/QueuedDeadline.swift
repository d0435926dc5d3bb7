import EventLoop

/// The earliest deadline a connection has an entry for in its worker's timer heap. Deadlines move
/// on every exchange; moving one later costs nothing: the queued entry fires, finds the owner not
/// due yet, and re-arms (see `TimerHeap`). Only a deadline earlier than the one queued adds an
/// entry (a short `upstream_response` after a long `idle`).
struct QueuedDeadline {
    private(set) var at: UInt64 = .max

    /// Queues `due` for the owner of `fd` (its `generation`) unless an entry at or before it is
    /// queued already.
    @inline(__always)
    mutating func ensure(_ due: UInt64, worker: Worker, fd: Int32, generation: UInt32) {
        guard due < at else { return }
        at = due
        worker.loop.schedule(deadline: due, token: worker.timerToken(fd: fd, generation: generation))
    }

    /// The timer fired at `now`: an entry that was due is gone from the heap.
    mutating func fired(now: UInt64) {
        if at <= now { at = .max }
    }
}

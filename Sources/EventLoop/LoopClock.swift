/// A loop's `now` (monotonic nanoseconds, set once per iteration), readable through a copy of
/// this handle without touching the loop object. Per-request code stamps activity several times
/// per request; going through `worker.loop.now` costs a retain/release pair for each object on
/// the way, a load through this pointer costs nothing. Valid while its loop lives (the loop owns
/// everything that holds a copy).
public struct LoopClock {
    @usableFromInline let cell: UnsafeMutablePointer<UInt64>

    init() {
        cell = .allocate(capacity: 1)
        cell.initialize(to: 0)
    }

    @inlinable public var now: UInt64 { cell.pointee }
}

import Glibc
import Synchronization

/// A bounded single-producer/single-consumer byte queue without locks: one thread appends whole
/// records, another takes bytes out in large spans. A record that does not fit is refused (and
/// counted), never waited for: the producer is a data-plane loop, which must not block.
///
/// Positions are totals of bytes ever written (`head`, stored by the producer only) and read
/// (`tail`, stored by the consumer only); the storage index is the total modulo the capacity, a
/// power of two. The producer publishes bytes with a releasing store of `head` after copying
/// them; the consumer frees space with a releasing store of `tail` after it is done with them.
///
/// `@unchecked Sendable`: the storage is shared, and safe only under that contract — exactly one
/// producer thread and one consumer thread at a time (handing either role over to another thread
/// needs a synchronising step, such as a mailbox message).
public final class ByteRing: @unchecked Sendable {
    public let capacity: Int
    private let mask: Int
    private let storage: UnsafeMutableRawPointer
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)
    private let refusedCount = Atomic<UInt64>(0)

    /// `capacity` is rounded up to a power of two (at least 64 bytes).
    public init(capacity: Int) {
        var size = 64
        while size < capacity { size <<= 1 }
        self.capacity = size
        mask = size - 1
        storage = .allocate(byteCount: size, alignment: 64)
    }

    deinit { storage.deallocate() }

    /// What `write` did.
    public enum WriteResult: Equatable, Sendable {
        /// All bytes are queued; `used` bytes (these included) now wait for the consumer.
        case written(used: Int)
        /// Not enough room for all of them: nothing was queued, and the refusal is counted.
        case refused
    }

    // MARK: producer

    /// Producer only: queues all of `bytes`, or none of them.
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer) -> WriteResult {
        let h = head.load(ordering: .relaxed)
        let used = h &- tail.load(ordering: .acquiring)
        guard bytes.count <= capacity - used else {
            noteRefused()
            return .refused
        }
        guard let source = bytes.baseAddress, bytes.count > 0 else { return .written(used: used) }
        let start = h & mask
        let first = min(bytes.count, capacity - start)
        (storage + start).copyMemory(from: source, byteCount: first)
        if first < bytes.count {
            storage.copyMemory(from: source + first, byteCount: bytes.count - first)
        }
        head.store(h &+ bytes.count, ordering: .releasing)
        return .written(used: used + bytes.count)
    }

    /// Producer only: counts a record that was given up without trying `write` (too large for
    /// the producer's own scratch, say), so every loss shows in `refused`.
    public func noteRefused() {
        refusedCount.store(refusedCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    // MARK: consumer

    /// Consumer only: the queued bytes, oldest first, as two spans (the second is empty unless
    /// the bytes wrap around the end of the storage). Valid until `consume`.
    public func readable() -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        let t = tail.load(ordering: .relaxed)
        let count = head.load(ordering: .acquiring) &- t
        let start = t & mask
        let first = min(count, capacity - start)
        return (UnsafeRawBufferPointer(start: storage + start, count: first),
                UnsafeRawBufferPointer(start: storage, count: count - first))
    }

    /// Consumer only: frees the oldest `count` bytes (at most what `readable` showed).
    public func consume(_ count: Int) {
        tail.store(tail.load(ordering: .relaxed) &+ count, ordering: .releasing)
    }

    // MARK: any thread

    /// Bytes queued now (a moment's reading from any thread other than the two).
    public var used: Int {
        let t = tail.load(ordering: .acquiring)  // first: the tail never passes a later head
        return head.load(ordering: .acquiring) &- t
    }

    /// Records refused so far because the ring was full (or given up by `noteRefused`).
    public var refused: UInt64 { refusedCount.load(ordering: .relaxed) }
}

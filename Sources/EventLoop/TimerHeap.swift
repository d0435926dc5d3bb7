/// A binary min-heap of (deadline, token) pairs. Entries are never removed early: owners keep
/// their real deadline themselves and re-arm when a stale entry fires. That keeps pushing a
/// deadline later (every keep-alive request does) free of heap work.
public struct TimerHeap: Sendable {
    public struct Entry: Sendable, Equatable {
        public var deadline: UInt64
        public var token: UInt64
    }

    private var entries: [Entry] = []

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }
    public var earliest: UInt64? { entries.first?.deadline }

    public mutating func push(deadline: UInt64, token: UInt64) {
        entries.append(Entry(deadline: deadline, token: token))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if entries[parent].deadline <= entries[child].deadline { break }
            entries.swapAt(parent, child)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if its deadline is at or before `now`.
    public mutating func popExpired(now: UInt64) -> Entry? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return first
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let n = entries.count
        while true {
            let left = 2 * parent + 1
            if left >= n { return }
            var smallest = left
            let right = left + 1
            if right < n && entries[right].deadline < entries[left].deadline { smallest = right }
            if entries[parent].deadline <= entries[smallest].deadline { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

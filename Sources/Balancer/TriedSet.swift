/// The backends one request has already tried, so a retry goes somewhere else. A bit set over the
/// first 128 indices: retries are few and pools beyond that size still work (indices above 127
/// are simply never excluded).
public struct TriedSet: Sendable, Equatable {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { low == 0 && high == 0 }

    @inline(__always)
    public func contains(_ index: Int) -> Bool {
        if index < 64 { return low & (1 << UInt64(index)) != 0 }
        if index < 128 { return high & (1 << UInt64(index - 64)) != 0 }
        return false
    }

    @inline(__always)
    public mutating func insert(_ index: Int) {
        if index < 64 { low |= 1 << UInt64(index) } else if index < 128 { high |= 1 << UInt64(index - 64) }
    }

    public var count: Int { low.nonzeroBitCount + high.nonzeroBitCount }
}

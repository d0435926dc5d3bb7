/// Fixed-size buffer blocks recycled within one loop, so a keep-alive exchange that borrows and
/// returns its buffers does not go through malloc and free every time. Loop-confined, no locks.
///
/// The free list lives in unmanaged memory (`FreeBlocks`) that buffers reach through a plain
/// pointer: taking and giving a block is a few loads and stores, with no reference counting on
/// the pool or on an array's storage (four blocks move per keep-alive request).
public final class BufferPool {
    public let blockSize: Int
    @usableFromInline let blocks: UnsafeMutablePointer<FreeBlocks>

    /// Keeps up to `maxFree` idle blocks (256 × 16 KiB = 4 MiB per loop by default); beyond that
    /// blocks go back to the allocator, so a burst does not pin memory for good.
    public init(blockSize: Int = 16384, maxFree: Int = 256) {
        self.blockSize = blockSize
        blocks = .allocate(capacity: 1)
        blocks.initialize(to: FreeBlocks(blockSize: blockSize, maxFree: maxFree))
    }

    deinit {
        blocks.pointee.trim(keep: 0)
        blocks.pointee.slots.deallocate()
        blocks.deinitialize(count: 1)
        blocks.deallocate()
    }

    @inline(__always)
    public func take() -> UnsafeMutableRawPointer { blocks.pointee.take() }

    @inline(__always)
    public func give(_ block: UnsafeMutableRawPointer) { blocks.pointee.give(block) }

    public var idleBlocks: Int { blocks.pointee.count }

    /// Gives idle blocks beyond `keep` back to the allocator (after a burst, when the loop is
    /// quiet again), as HAProxy trims its pools.
    public func trim(keep: Int = 16) { blocks.pointee.trim(keep: keep) }
}

/// A pool's idle blocks: a stack of at most `maxFree` pointers in memory of its own.
public struct FreeBlocks {
    public let blockSize: Int
    @usableFromInline let maxFree: Int
    @usableFromInline var count = 0
    @usableFromInline let slots: UnsafeMutablePointer<UnsafeMutableRawPointer>

    init(blockSize: Int, maxFree: Int) {
        self.blockSize = blockSize
        self.maxFree = maxFree
        slots = .allocate(capacity: max(maxFree, 1))
    }

    @inlinable
    mutating func take() -> UnsafeMutableRawPointer {
        guard count > 0 else { return .allocate(byteCount: blockSize, alignment: 16) }
        count -= 1
        return slots[count]
    }

    @inlinable
    mutating func give(_ block: UnsafeMutableRawPointer) {
        guard count < maxFree else { return block.deallocate() }
        slots[count] = block
        count += 1
    }

    mutating func trim(keep: Int) {
        while count > keep {
            count -= 1
            slots[count].deallocate()
        }
    }
}

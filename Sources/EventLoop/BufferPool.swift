/// Fixed-size buffer blocks recycled within one loop, so a keep-alive exchange that borrows and
/// returns its buffers does not go through malloc and free every time. Loop-confined, no locks.
public final class BufferPool {
    public let blockSize: Int
    private var free: [UnsafeMutableRawPointer] = []
    private let maxFree: Int

    /// Keeps up to `maxFree` idle blocks (256 × 16 KiB = 4 MiB per loop by default); beyond that
    /// blocks go back to the allocator, so a burst does not pin memory for good.
    public init(blockSize: Int = 16384, maxFree: Int = 256) {
        self.blockSize = blockSize
        self.maxFree = maxFree
        free.reserveCapacity(maxFree)
    }

    deinit {
        for block in free { block.deallocate() }
    }

    @inline(__always)
    public func take() -> UnsafeMutableRawPointer {
        free.popLast() ?? .allocate(byteCount: blockSize, alignment: 16)
    }

    @inline(__always)
    public func give(_ block: UnsafeMutableRawPointer) {
        if free.count < maxFree { free.append(block) } else { block.deallocate() }
    }

    public var idleBlocks: Int { free.count }

    /// Gives idle blocks beyond `keep` back to the allocator (after a burst, when the loop is
    /// quiet again), as HAProxy trims its pools.
    public func trim(keep: Int = 16) {
        while free.count > keep { free.removeLast().deallocate() }
    }
}

import Glibc

/// A growable byte buffer with separate read and write positions, owned by one connection on one
/// loop. Storage is allocated on first use and can be released while the connection is idle, so an
/// idle keep-alive connection holds no buffer memory.
public struct ByteBuffer: ~Copyable {
    @usableFromInline var storage: UnsafeMutableRawPointer?
    public private(set) var capacity: Int
    public private(set) var readerIndex: Int = 0
    public private(set) var writerIndex: Int = 0
    public let initialCapacity: Int
    /// Where first allocations come from and released blocks go back to (a pool's free list,
    /// reached without reference counting); nil: plain malloc.
    private let pool: UnsafeMutablePointer<FreeBlocks>?

    public init(initialCapacity: Int = 16384) {
        self.storage = nil
        self.capacity = 0
        self.initialCapacity = initialCapacity
        self.pool = nil
    }

    /// A buffer whose first block comes from `pool` (which must outlive it); it grows beyond the
    /// block with malloc like any other.
    public init(pool: BufferPool) {
        self.storage = nil
        self.capacity = 0
        self.initialCapacity = pool.blockSize
        self.pool = pool.blocks
    }

    deinit {
        if let storage { returnStorage(storage) }
    }

    private func returnStorage(_ block: UnsafeMutableRawPointer) {
        if let pool, capacity == pool.pointee.blockSize { pool.pointee.give(block) } else { block.deallocate() }
    }

    @inline(__always) public var readableCount: Int { writerIndex - readerIndex }
    @inline(__always) public var isEmpty: Bool { writerIndex == readerIndex }
    @inline(__always) public var writableCount: Int { capacity - writerIndex }

    /// The unread bytes. Valid until the next mutation.
    @inline(__always) public var readable: UnsafeRawBufferPointer {
        guard let storage else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: storage + readerIndex, count: writerIndex - readerIndex)
    }

    /// Space after the written bytes, for a read(2) to fill; at least `minimum` bytes.
    public mutating func writableSpace(minimum: Int = 1) -> UnsafeMutableRawBufferPointer {
        reserveWritable(minimum)
        return UnsafeMutableRawBufferPointer(start: storage! + writerIndex, count: capacity - writerIndex)
    }

    @inline(__always) public mutating func didWrite(_ count: Int) { writerIndex += count }

    @inline(__always) public mutating func consume(_ count: Int) {
        readerIndex += count
        if readerIndex == writerIndex { readerIndex = 0; writerIndex = 0 }
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserveWritable(bytes.count)
        (storage! + writerIndex).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        writerIndex += bytes.count
    }

    public mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Makes room for `count` more bytes: first by moving unread bytes to the front, then by growing.
    public mutating func reserveWritable(_ count: Int) {
        if storage == nil {
            if let pool, count <= pool.pointee.blockSize {
                capacity = pool.pointee.blockSize
                storage = pool.pointee.take()
            } else {
                capacity = max(initialCapacity, count)
                storage = .allocate(byteCount: capacity, alignment: 16)
            }
            return
        }
        if capacity - writerIndex >= count { return }
        if readerIndex > 0 {
            let unread = writerIndex - readerIndex
            if unread > 0 { memmove(storage!, storage! + readerIndex, unread) }
            readerIndex = 0
            writerIndex = unread
            if capacity - writerIndex >= count { return }
        }
        var newCapacity = max(capacity * 2, 64)
        while newCapacity - writerIndex < count { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        grown.copyMemory(from: storage!, byteCount: writerIndex)
        returnStorage(storage!)
        storage = grown
        capacity = newCapacity
    }

    /// Makes the first `count` bytes written since the buffer was last empty readable again.
    /// Valid only while nothing was appended after them: their bytes are still in place, because
    /// consuming never moves or frees storage. Used to resend a request head.
    public mutating func rewind(toWritten count: Int) {
        guard storage != nil, count <= capacity else { return }
        readerIndex = 0
        writerIndex = count
    }

    public mutating func clear() {
        readerIndex = 0
        writerIndex = 0
    }

    /// Frees the storage if nothing is unread (an idle connection keeps no memory).
    public mutating func releaseIfEmpty() {
        guard readerIndex == writerIndex, let storage else { return }
        returnStorage(storage)
        self.storage = nil
        capacity = 0
        readerIndex = 0
        writerIndex = 0
    }
}

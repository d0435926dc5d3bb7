import EventLoop
import Testing

@Suite struct BufferPoolTests {
    @Test func aGivenBlockIsTheNextOneTaken() {
        let pool = BufferPool(blockSize: 256, maxFree: 4)
        let first = pool.take()
        #expect(pool.idleBlocks == 0)
        pool.give(first)
        #expect(pool.idleBlocks == 1)
        #expect(pool.take() == first)
        #expect(pool.idleBlocks == 0)
        pool.give(first)
    }

    @Test func keepsAtMostMaxFreeBlocks() {
        let pool = BufferPool(blockSize: 256, maxFree: 2)
        let blocks = (0..<5).map { _ in pool.take() }
        for block in blocks { pool.give(block) }
        #expect(pool.idleBlocks == 2)
        // Last in, first out: the most recently given (still in cache) comes back first.
        #expect(pool.take() == blocks[1])
        #expect(pool.take() == blocks[0])
        #expect(pool.idleBlocks == 0)
    }

    @Test func trimKeepsTheRequestedNumber() {
        let pool = BufferPool(blockSize: 256, maxFree: 8)
        for block in (0..<6).map({ _ in pool.take() }) { pool.give(block) }
        pool.trim(keep: 2)
        #expect(pool.idleBlocks == 2)
        pool.trim(keep: 4)
        #expect(pool.idleBlocks == 2)
    }

    @Test func aBufferBorrowsItsFirstBlockAndGivesItBack() {
        let pool = BufferPool(blockSize: 256, maxFree: 4)
        let block = pool.take()
        pool.give(block)
        do {
            var buffer = ByteBuffer(pool: pool)
            buffer.append([1, 2, 3])
            #expect(pool.idleBlocks == 0)
            #expect(buffer.readable.baseAddress == UnsafeRawPointer(block))
            buffer.consume(3)
            buffer.releaseIfEmpty()
            #expect(pool.idleBlocks == 1)
            buffer.append([4])
            #expect(pool.idleBlocks == 0)
            #expect(buffer.readableCount == 1)
        }
        // Dropped with its block: the block goes back too.
        #expect(pool.idleBlocks == 1)
    }

    @Test func aBufferThatGrewPastTheBlockDoesNotGiveItsStorageToThePool() {
        let pool = BufferPool(blockSize: 64, maxFree: 4)
        do {
            var buffer = ByteBuffer(pool: pool)
            buffer.append([UInt8](repeating: 7, count: 10))
            buffer.append([UInt8](repeating: 8, count: 100))  // grows beyond the block: malloc
            #expect(buffer.readableCount == 110)
            // The pool's block went back when the buffer grew.
            #expect(pool.idleBlocks == 1)
        }
        #expect(pool.idleBlocks == 1)
    }
}

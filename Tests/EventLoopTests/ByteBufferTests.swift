import EventLoop
import Testing


/// A copyable view of a buffer's state: `#expect` cannot capture a noncopyable value.
private struct Snapshot {
    var capacity: Int
    var readerIndex: Int
    var writerIndex: Int
    var readableCount: Int
    var writableCount: Int
    var isEmpty: Bool
    var hasStorage: Bool
    var bytes: [UInt8]
}

extension ByteBuffer {
    fileprivate var snapshot: Snapshot {
        Snapshot(capacity: capacity, readerIndex: readerIndex, writerIndex: writerIndex,
                 readableCount: readableCount, writableCount: writableCount, isEmpty: isEmpty,
                 hasStorage: readable.baseAddress != nil || capacity > 0, bytes: Array(readable))
    }
}

@Suite struct ByteBufferTests {
    @Test func startsWithoutStorage() {
        let buffer = ByteBuffer(initialCapacity: 64)
        #expect(buffer.snapshot.capacity == 0)
        #expect(buffer.snapshot.isEmpty)
        #expect(buffer.snapshot.readableCount == 0)
        #expect(buffer.snapshot.bytes.isEmpty)
    }

    @Test func appendThenConsumeKeepsTheUnreadBytes() {
        var buffer = ByteBuffer(initialCapacity: 64)
        buffer.append([1, 2, 3, 4, 5, 6])
        #expect(buffer.snapshot.capacity == 64)
        #expect(buffer.snapshot.bytes == [1, 2, 3, 4, 5, 6])
        buffer.consume(2)
        #expect(buffer.snapshot.readerIndex == 2)
        #expect(buffer.snapshot.bytes == [3, 4, 5, 6])
        buffer.append("ab" as StaticString)
        #expect(buffer.snapshot.bytes == [3, 4, 5, 6, 97, 98])
        buffer.consume(6)
        #expect(buffer.snapshot.isEmpty)
        // Fully consumed: both positions rewind, so the whole capacity is writable again.
        #expect(buffer.snapshot.readerIndex == 0 && buffer.snapshot.writerIndex == 0)
        #expect(buffer.snapshot.writableCount == 64)
    }

    @Test func compactionMovesUnreadBytesToTheFrontWithoutGrowing() {
        var buffer = ByteBuffer(initialCapacity: 8)
        buffer.append([1, 2, 3, 4, 5, 6])
        buffer.consume(4)
        buffer.append([7, 8, 9, 10])     // 2 free at the end, 4 at the front: compacts
        #expect(buffer.snapshot.capacity == 8)
        #expect(buffer.snapshot.readerIndex == 0)
        #expect(buffer.snapshot.writerIndex == 6)
        #expect(buffer.snapshot.bytes == [5, 6, 7, 8, 9, 10])
    }

    @Test func growthKeepsTheUnreadBytes() {
        var buffer = ByteBuffer(initialCapacity: 8)
        buffer.append([1, 2, 3, 4, 5, 6])
        buffer.consume(1)
        let big = (0..<40).map { UInt8(100 + $0) }
        buffer.append(big)
        #expect(buffer.snapshot.capacity >= 45)
        #expect(buffer.snapshot.capacity.nonzeroBitCount == 1, "grows by doubling from 8")
        #expect(buffer.snapshot.bytes == [2, 3, 4, 5, 6] + big)
    }

    @Test func writableSpaceAndDidWrite() {
        var buffer = ByteBuffer(initialCapacity: 4)
        let space = buffer.writableSpace(minimum: 10)
        #expect(space.count >= 10)
        for i in 0..<10 { space[i] = UInt8(i) }
        buffer.didWrite(10)
        #expect(buffer.snapshot.bytes == Array(0..<10))
        buffer.consume(3)
        let more = buffer.writableSpace(minimum: 1)
        #expect(more.count == buffer.snapshot.writableCount)
        more[0] = 0xFF
        buffer.didWrite(1)
        #expect(buffer.snapshot.bytes == Array(3..<10) + [0xFF])
    }

    @Test func releaseIfEmptyFreesAndLaterUseReallocates() {
        var buffer = ByteBuffer(initialCapacity: 32)
        buffer.append([1, 2, 3])

        buffer.releaseIfEmpty()          // not empty: a no-op
        #expect(buffer.snapshot.capacity == 32)
        #expect(buffer.snapshot.bytes == [1, 2, 3])

        buffer.consume(3)
        buffer.releaseIfEmpty()
        #expect(buffer.snapshot.capacity == 0)
        #expect(!buffer.snapshot.hasStorage)
        #expect(buffer.snapshot.isEmpty)

        buffer.append([4, 5])
        #expect(buffer.snapshot.capacity == 32)
        #expect(buffer.snapshot.bytes == [4, 5])

        buffer.consume(2)
        buffer.releaseIfEmpty()
        buffer.append((0..<100).map { UInt8($0) })   // larger than the initial capacity
        #expect(buffer.snapshot.capacity >= 100)
        #expect(buffer.snapshot.bytes == (0..<100).map { UInt8($0) })
    }

    @Test func clearDropsTheBytesButKeepsStorage() {
        var buffer = ByteBuffer(initialCapacity: 16)
        buffer.append([1, 2, 3])
        buffer.clear()
        #expect(buffer.snapshot.isEmpty)
        #expect(buffer.snapshot.capacity == 16)
    }

    /// Random appends, writes through writableSpace, consumes and releases against an array.
    @Test(arguments: 1...25 as ClosedRange<UInt64>)
    func randomOperationsMatchAnArrayModel(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var buffer = ByteBuffer(initialCapacity: Int.random(in: 1...64, using: &rng))
        var model: [UInt8] = []
        for _ in 0..<500 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<4:
                let chunk = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                buffer.append(chunk)
                model += chunk
            case 4..<6:
                let chunk = (0..<Int.random(in: 1...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let space = buffer.writableSpace(minimum: chunk.count)
                #expect(space.count >= chunk.count)
                space.copyBytes(from: chunk)
                buffer.didWrite(chunk.count)
                model += chunk
            case 6..<9:
                let n = Int.random(in: 0...model.count, using: &rng)
                buffer.consume(n)
                model.removeFirst(n)
            default:
                buffer.releaseIfEmpty()
                if model.isEmpty { #expect(buffer.snapshot.capacity == 0) }
            }
            #expect(buffer.snapshot.bytes == model)
            #expect(buffer.snapshot.readableCount == model.count)
            #expect(buffer.snapshot.readerIndex <= buffer.snapshot.writerIndex && buffer.snapshot.writerIndex <= buffer.snapshot.capacity)
        }
    }
}

import EventLoop
import Glibc
import Synchronization
import Testing

/// The access log's queue between a worker and the writer thread: whole records or nothing,
/// wrap-around, refusal when full, and one producer and one consumer on two threads at once.
@Suite struct ByteRingTests {
    private func bytes(_ ring: ByteRing) -> [UInt8] {
        let (a, b) = ring.readable()
        return Array(a) + Array(b)
    }

    private func write(_ ring: ByteRing, _ values: [UInt8]) -> ByteRing.WriteResult {
        values.withUnsafeBytes { ring.write($0) }
    }

    @Test func capacityIsAPowerOfTwo() {
        #expect(ByteRing(capacity: 1).capacity == 64)
        #expect(ByteRing(capacity: 1000).capacity == 1024)
        #expect(ByteRing(capacity: 4096).capacity == 4096)
    }

    @Test func bytesComeOutInOrderAcrossTheWrap() {
        let ring = ByteRing(capacity: 64)
        let first = (0..<40).map { UInt8($0) }
        #expect(write(ring, first) == .written(used: 40))
        #expect(bytes(ring) == first)
        ring.consume(40)
        #expect(ring.used == 0)

        // 24 bytes fit before the end of the storage, the other 16 wrap to its start.
        let second = (100..<140).map { UInt8($0) }
        #expect(write(ring, second) == .written(used: 40))
        let (a, b) = ring.readable()
        #expect(a.count == 24 && b.count == 16)
        #expect(Array(a) + Array(b) == second)

        // Consuming part of the first span leaves the rest, still in order.
        ring.consume(10)
        #expect(bytes(ring) == Array(second[10...]))
        ring.consume(30)
        #expect(bytes(ring).isEmpty)
    }

    @Test func aRecordThatDoesNotFitIsRefusedWholeAndCounted() {
        let ring = ByteRing(capacity: 64)
        #expect(write(ring, [UInt8](repeating: 1, count: 60)) == .written(used: 60))
        #expect(write(ring, [UInt8](repeating: 2, count: 5)) == .refused)
        #expect(write(ring, [UInt8](repeating: 3, count: 65)) == .refused)
        #expect(ring.refused == 2)
        #expect(ring.used == 60)
        #expect(bytes(ring) == [UInt8](repeating: 1, count: 60))

        // Exactly the room left fits; then the ring is full.
        #expect(write(ring, [4, 4, 4, 4]) == .written(used: 64))
        #expect(write(ring, [5]) == .refused)
        #expect(ring.refused == 3)

        // Space freed by the consumer is usable again.
        ring.consume(8)
        #expect(write(ring, [UInt8](repeating: 6, count: 8)) == .written(used: 64))
        #expect(bytes(ring) == [UInt8](repeating: 1, count: 52) + [4, 4, 4, 4] + [UInt8](repeating: 6, count: 8))
        ring.noteRefused()
        #expect(ring.refused == 4)
    }

    /// A producer thread writes numbered records of varying length as fast as it can into a small
    /// ring while this thread drains it: every record arrives whole and in order, or was refused
    /// and counted — never torn, never duplicated.
    @Test func oneProducerAndOneConsumerOnTwoThreads() throws {
        let records = 200_000
        let ring = ByteRing(capacity: 4096)
        let producerDone = Atomic<Bool>(false)
        let accepted = Atomic<Int>(0)

        let producer = LoopThread(name: "ring-producer") {
            var record = [UInt8](repeating: 0, count: 300)
            var count = 0
            for sequence in 0..<records {
                // [length][sequence, 4 bytes][payload: (sequence + i) & 0xFF]
                let length = 5 + (sequence * 7919) % 250
                record[0] = UInt8(length)
                for i in 0..<4 { record[1 + i] = UInt8(truncatingIfNeeded: sequence >> (8 * i)) }
                for i in 5..<length { record[i] = UInt8(truncatingIfNeeded: sequence &+ i) }
                let result = record.withUnsafeBytes { ring.write(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
                if case .written = result { count += 1 }
            }
            accepted.store(count, ordering: .relaxed)
            producerDone.store(true, ordering: .releasing)
        }

        var pending: [UInt8] = []
        var received = 0
        var lastSequence = -1
        var problems: [String] = []
        while true {
            let finished = producerDone.load(ordering: .acquiring)
            let (a, b) = ring.readable()
            if a.isEmpty && b.isEmpty {
                if finished { break }
                sched_yield()
                continue
            }
            pending += Array(a)
            pending += Array(b)
            ring.consume(a.count + b.count)
            var offset = 0
            while offset < pending.count, pending.count - offset >= Int(pending[offset]) {
                let length = Int(pending[offset])
                var sequence = 0
                for i in 0..<4 { sequence |= Int(pending[offset + 1 + i]) << (8 * i) }
                if sequence <= lastSequence { problems.append("record \(sequence) after \(lastSequence)") }
                for i in 5..<length where pending[offset + i] != UInt8(truncatingIfNeeded: sequence &+ i) {
                    problems.append("record \(sequence) torn at byte \(i)")
                    break
                }
                lastSequence = sequence
                received += 1
                offset += length
            }
            pending.removeFirst(offset)
            if problems.count > 5 { break }
        }
        producer.join()

        #expect(problems.isEmpty, "\(problems)")
        #expect(pending.isEmpty)
        #expect(received == accepted.load(ordering: .relaxed))
        #expect(received + Int(ring.refused) == records)
        #expect(received > 0)
    }
}

@testable import EventLoop
import Testing

@Suite struct TimerHeapTests {
    @Test func emptyHeapHasNothingToPop() {
        var heap = TimerHeap()
        #expect(heap.isEmpty)
        #expect(heap.count == 0)
        #expect(heap.earliest == nil)
        #expect(heap.popExpired(now: .max) == nil)
    }

    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func popsRandomInsertsInDeadlineOrder(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var heap = TimerHeap()
        let count = Int.random(in: 0...300, using: &rng)
        // A narrow range for some seeds forces many equal deadlines.
        let range: UInt64 = seed % 3 == 0 ? 8 : 1_000_000
        var inserted: [TimerHeap.Entry] = []
        for token in 0..<UInt64(count) {
            let deadline = UInt64.random(in: 0..<range, using: &rng)
            heap.push(deadline: deadline, token: token)
            inserted.append(TimerHeap.Entry(deadline: deadline, token: token))
            #expect(heap.earliest == inserted.map(\.deadline).min())
        }
        #expect(heap.count == count)

        var popped: [TimerHeap.Entry] = []
        while let entry = heap.popExpired(now: .max) { popped.append(entry) }
        #expect(heap.isEmpty)
        #expect(popped.count == count)
        #expect(popped.map(\.deadline) == inserted.map(\.deadline).sorted())
        // Nothing lost or duplicated, and each token kept its own deadline.
        #expect(popped.sorted { $0.token < $1.token } == inserted)
    }

    @Test(arguments: 100...119 as ClosedRange<UInt64>)
    func interleavedPushesAndPopsMatchASortedModel(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var heap = TimerHeap()
        var model: [TimerHeap.Entry] = []
        var clock: UInt64 = 0
        var nextToken: UInt64 = 0
        for _ in 0..<2000 {
            if Bool.random(using: &rng) || model.isEmpty {
                let deadline = clock + UInt64.random(in: 0..<100, using: &rng)
                heap.push(deadline: deadline, token: nextToken)
                model.append(TimerHeap.Entry(deadline: deadline, token: nextToken))
                nextToken += 1
            } else {
                clock += UInt64.random(in: 0..<20, using: &rng)
                let minimum = model.map(\.deadline).min()!
                let entry = heap.popExpired(now: clock)
                if minimum <= clock {
                    guard let entry else {
                        Issue.record("nothing popped though \(minimum) <= now \(clock)")
                        return
                    }
                    #expect(entry.deadline == minimum)
                    let index = model.firstIndex(of: entry)
                    #expect(index != nil, "popped an entry never pushed (or twice): \(entry)")
                    if let index { model.remove(at: index) }
                } else {
                    #expect(entry == nil)
                }
            }
            #expect(heap.count == model.count)
            #expect(heap.earliest == model.map(\.deadline).min())
        }
    }

    @Test func popExpiredRespectsNow() {
        var heap = TimerHeap()
        heap.push(deadline: 30, token: 3)
        heap.push(deadline: 10, token: 1)
        heap.push(deadline: 20, token: 2)

        #expect(heap.popExpired(now: 0) == nil)
        #expect(heap.popExpired(now: 9) == nil)
        #expect(heap.count == 3)

        #expect(heap.popExpired(now: 10)?.token == 1)   // deadline == now counts as expired
        #expect(heap.popExpired(now: 10) == nil)
        #expect(heap.popExpired(now: 25)?.token == 2)
        #expect(heap.popExpired(now: 25) == nil)
        #expect(heap.count == 1)
        #expect(heap.earliest == 30)
        #expect(heap.popExpired(now: 31) == TimerHeap.Entry(deadline: 30, token: 3))
        #expect(heap.isEmpty)
    }

    @Test func equalDeadlinesAllFire() {
        var heap = TimerHeap()
        for token in 0..<7 as Range<UInt64> { heap.push(deadline: 500, token: token) }
        heap.push(deadline: 501, token: 99)

        #expect(heap.popExpired(now: 499) == nil)
        var tokens: [UInt64] = []
        while let entry = heap.popExpired(now: 500) {
            #expect(entry.deadline == 500)
            tokens.append(entry.token)
        }
        #expect(tokens.sorted() == Array(0..<7))
        #expect(heap.count == 1)
        #expect(heap.popExpired(now: 501)?.token == 99)
    }
}

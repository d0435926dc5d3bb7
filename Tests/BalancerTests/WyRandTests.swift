import Testing
@testable import Balancer

@Suite struct WyRandTests {
    @Test func sameSeedSameStreamNeighbouringSeedsUnrelated() {
        var a = WyRand(seed: 0)
        var b = WyRand(seed: 0)
        var c = WyRand(seed: 1)
        let sa = (0..<64).map { _ in a.next() }
        let sb = (0..<64).map { _ in b.next() }
        let sc = (0..<64).map { _ in c.next() }
        #expect(sa == sb)
        #expect(zip(sa, sc).allSatisfy { $0 != $1 })
    }

    @Test func boundedDrawsStayInRangeAndSpreadEvenly() {
        var rng = WyRand(seed: 42)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 {
            let v = rng.next(below: 10)
            #expect(v < 10)
            counts[Int(v)] += 1
        }
        for n in counts { #expect(abs(n - 10_000) < 400) }
        #expect(rng.next(below: 1) == 0 && rng.next(below: 0) == 0)
    }

    @Test func bitsAreBalanced() {
        var rng = WyRand(seed: 7)
        var ones = 0
        for _ in 0..<10_000 { ones += rng.next().nonzeroBitCount }
        #expect(abs(ones - 320_000) < 3_000)
    }
}

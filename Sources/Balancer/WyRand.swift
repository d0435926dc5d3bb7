/// A small, fast pseudo-random generator (wyrand: a Weyl sequence through a 128-bit multiply mix)
/// for the hot path. `SystemRandomNumberGenerator` makes a system call or takes a lock per draw;
/// balancing needs speed and spread, not secrecy, so each worker owns one of these, seeded once.
///
/// Value type, owned by one worker; never shared.
public struct WyRand: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Seeds through splitmix64, so that neighbouring seeds (worker 0, 1, 2…) give unrelated
    /// streams rather than the same Weyl sequence shifted by one.
    public init(seed: UInt64) {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        state = z ^ (z >> 31)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0xA076_1D64_78BD_642F
        let product = state.multipliedFullWidth(by: state ^ 0xE703_7ED1_A0B4_28DB)
        return product.high ^ product.low
    }

    /// A uniform value in `0..<bound` (Lemire's multiply-and-reject: no division in the common
    /// case, no modulo bias). `bound` must be positive; 0 returns 0.
    @inline(__always)
    public mutating func next(below bound: UInt64) -> UInt64 {
        guard bound > 0 else { return 0 }
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }
}

/// Stable cohorts (`hash_on`): a request's key (a user id, a cookie, an address) picks its pool
/// from a hash, so the same key lands in the same pool on every request and on every cutover
/// instance — nothing here depends on the process, the worker or the time. The hash is salted
/// with the route's name, so one user's cohorts on two routes are independent.
public enum CohortHash {
    /// FNV-1a over the salt, a separator and the key, then a 64-bit finaliser (splitmix64's) so
    /// that keys differing in their last byte spread over the whole range.
    public static func hash(salt: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in salt { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h = (h ^ 0xFF) &* 0x100_0000_01b3
        for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }

    /// The slot of `weights` that `hash` falls in. Buckets are monotone: slots 1, 2, … take their
    /// shares from the bottom of the range in order and slot 0 (a route's first pool, the
    /// baseline) the rest, so raising a canary from 5 % to 25 % keeps the first 5 % of keys in it,
    /// and lowering it keeps the rest where they were. nil when every weight is 0.
    public static func slot(_ hash: UInt64, weights: [Int]) -> Int? {
        var total = 0
        for w in weights { total += max(0, w) }
        guard total > 0 else { return nil }
        // A point in [0, total): the high half of hash × total.
        let point = Int(hash.multipliedFullWidth(by: UInt64(total)).high)
        var upTo = 0
        for slot in weights.indices.dropFirst() {
            upTo += max(0, weights[slot])
            if point < upTo { return slot }
        }
        return 0
    }
}

import Balancer
import EventLoop
import HTTP1

/// The pool a request goes to: `override` header (from an allowed address), then the cohort of
/// its `hash_on` key or the `sticky` cookie (while the split is fractional), then the weighted
/// split.
struct PoolChoice {
    var pool: Int
    /// The route's pool slot whose Set-Cookie the response must carry (a new sticky assignment).
    var assignCookieSlot: Int?
}

extension WorkerRouting {
    /// Chooses the pool for a request on `route`. The override header is marked hop-by-hop in
    /// `head` so it is never forwarded, whoever sent it.
    func choosePool(route r: Int, head: inout RequestHead, source: UnsafeRawBufferPointer,
                    peer: SocketAddress) -> PoolChoice? {
        let route = table.routes[r]
        if let rule = route.override, !head.fields.isEmpty,
           let i = rule.headerName.withUnsafeBytes({ indexOfField(named: $0, in: head.fields, source: source) }) {
            head.fields[i].kind = .hopByHop
            // Pinning works at weight 0 too: that is how the standby colour is smoke-tested.
            if rule.allows(peer), let slot = slot(of: head.fields[i].value, in: r, source: source),
               isUsable(pool: route.pools[slot].index) {
                return PoolChoice(pool: route.pools[slot].index, assignCookieSlot: nil)
            }
        }
        if let key = route.hashOn, splitIsFractional(route: r),
           let slot = cohortSlot(route: r, key: key, head: head, source: source, peer: peer),
           isUsable(pool: route.pools[slot].index) {
            return PoolChoice(pool: route.pools[slot].index, assignCookieSlot: nil)
        }
        if let rule = route.sticky, splitIsFractional(route: r) {
            if let value = rule.cookieName.withUnsafeBytes({ cookieValue(named: $0, in: head.fields, source: source) }),
               let slot = slot(of: value, in: r, source: source),
               splitWeight(route: r, slot: slot) > 0, isUsable(pool: route.pools[slot].index) {
                return PoolChoice(pool: route.pools[slot].index, assignCookieSlot: nil)
            }
            guard let slot = pickSlot(route: r) else { return nil }
            return PoolChoice(pool: route.pools[slot].index, assignCookieSlot: slot)
        }
        guard let slot = pickSlot(route: r) else { return nil }
        return PoolChoice(pool: route.pools[slot].index, assignCookieSlot: nil)
    }

    /// The slot the request's cohort key hashes to under the route's current split (ramps and
    /// rollouts included); nil when the request has no key (it then takes the weighted split).
    private func cohortSlot(route r: Int, key: RoutingTable.CohortKey, head: RequestHead, source: UnsafeRawBufferPointer,
                            peer: SocketAddress) -> Int? {
        let salt = table.routes[r].nameBytes
        let weights = splitWeights(route: r)
        switch key {
        case .header(let name):
            guard let i = name.withUnsafeBytes({ indexOfField(named: $0, in: head.fields, source: source) }),
                  !head.fields[i].value.isEmpty else { return nil }
            let value = UnsafeRawBufferPointer(rebasing: source[head.fields[i].value])
            return salt.withUnsafeBytes { CohortHash.slot(CohortHash.hash(salt: $0, key: value), weights: weights) }
        case .cookie(let name):
            guard let range = name.withUnsafeBytes({ cookieValue(named: $0, in: head.fields, source: source) }),
                  !range.isEmpty else { return nil }
            let value = UnsafeRawBufferPointer(rebasing: source[range])
            return salt.withUnsafeBytes { CohortHash.slot(CohortHash.hash(salt: $0, key: value), weights: weights) }
        case .clientAddress:
            return withUnsafeTemporaryAllocation(byteCount: 64, alignment: 1) { scratch in
                let length = peer.writeIP(into: scratch)
                let value = UnsafeRawBufferPointer(rebasing: scratch[0..<length])
                return salt.withUnsafeBytes { CohortHash.slot(CohortHash.hash(salt: $0, key: value), weights: weights) }
            }
        }
    }

    /// The slot of the route's pool whose name equals the bytes at `range`.
    private func slot(of range: Range<Int>, in r: Int, source: UnsafeRawBufferPointer) -> Int? {
        let candidate = UnsafeRawBufferPointer(rebasing: source[range])
        for (slot, entry) in table.routes[r].pools.enumerated() {
            let name = table.pools[entry.index].hostBytes
            if name.count == candidate.count && name.withUnsafeBytes({ $0.elementsEqual(candidate) }) { return slot }
        }
        return nil
    }
}

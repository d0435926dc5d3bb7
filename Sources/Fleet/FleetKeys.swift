/// Where a fleet's keys live under its prefix:
///
/// - `PREFIX/active` — the generation in force, as decimal text ("7"); written only together
///   with its document, in one transaction.
/// - `PREFIX/desired/<generation>` — the `FleetDocument` of each generation (never rewritten);
///   the last `keptGenerations` stay (the history `etcdctl` can show), each write deletes the
///   one that many behind it, so the store does not grow with every switch.
/// - `PREFIX/instances/<instance>` — each live instance's `InstanceReport`, held by its lease.
/// - `PREFIX/rollouts/<route>/leader` — the instance leading the route's rollout (its name),
///   held by its lease; `…/state` — the rollout's state (no lease: it outlives its leader);
///   `…/counts/<instance>` — each instance's cumulative counts of the rollout's pools, held by
///   its lease.
public struct FleetKeys: Sendable {
    public let prefix: String

    public init(prefix: String) { self.prefix = prefix }

    /// How many generations' documents stay in etcd (the one in force and those before it).
    public static let keptGenerations: Int64 = 10

    public var active: String { "\(prefix)/active" }
    public func desired(_ generation: Int64) -> String { "\(prefix)/desired/\(generation)" }
    public var instances: String { "\(prefix)/instances/" }
    public func instance(_ name: String) -> String { "\(prefix)/instances/\(name)" }
    public var rollouts: String { "\(prefix)/rollouts/" }
    public func rolloutLeader(_ route: String) -> String { "\(prefix)/rollouts/\(route)/leader" }
    public func rolloutState(_ route: String) -> String { "\(prefix)/rollouts/\(route)/state" }
    public func rolloutCounts(_ route: String) -> String { "\(prefix)/rollouts/\(route)/counts/" }
    public func rolloutCounts(_ route: String, instance: String) -> String { "\(prefix)/rollouts/\(route)/counts/\(instance)" }

    /// The generation an `active` value names, or nil when it is not a positive number.
    public static func generation(_ value: EtcdKeyValue) -> Int64? {
        guard let n = Int64(value.text.trimmingWhitespace), n > 0 else { return nil }
        return n
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

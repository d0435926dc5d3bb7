/// What a reload changes, in words an operator reads in `POST /reload`'s answer, in `cutover
/// reload`'s output and in the log: "route app: blue 100 → 0, green 0 → 100". One fact per line,
/// in file order; an empty list means the new file says the same as the running one.
///
/// Pure and position-blind: moving a section around in the file (which changes every
/// `SourceLocation`) is not a change. Secrets are never printed (a new admin token shows as
/// "admin token changed"). Settings the running process only reads at start-up (workers, the
/// admin listener) say so, because a reload that silently does nothing about them would mislead.
public func describeChanges(from old: CutoverConfig, to new: CutoverConfig) -> [String] {
    var changes: [String] = []
    changes += ConfigDiff.startupSettings(old, new)
    changes += ConfigDiff.listeners(old.listeners, new.listeners)
    changes += ConfigDiff.routes(old.routes, new.routes)
    changes += ConfigDiff.pools(old.pools, new.pools)
    changes += ConfigDiff.tunables(old, new)
    return changes
}

enum ConfigDiff {
    static let restart = " (applies at restart)"

    static func startupSettings(_ old: CutoverConfig, _ new: CutoverConfig) -> [String] {
        var out: [String] = []
        if old.workers != new.workers {
            out.append("workers: \(describe(old.workers)) → \(describe(new.workers))\(restart)")
        }
        switch (old.admin, new.admin) {
        case (nil, nil): break
        case (nil, let added?): out.append("admin added on \(added.listen)\(restart)")
        case (let removed?, nil): out.append("admin on \(removed.listen) removed\(restart)")
        case (let a?, let b?):
            if a.listen != b.listen { out.append("admin listen: \(a.listen) → \(b.listen)\(restart)") }
            if a.token != b.token { out.append(b.token == nil ? "admin token removed" : a.token == nil ? "admin token set" : "admin token changed") }
        }
        if old.cluster != new.cluster { out.append("cluster changed\(restart)") }
        return out
    }

    static func listeners(_ old: [ListenerConfig], _ new: [ListenerConfig]) -> [String] {
        var out: [String] = []
        let before = byName(old, \.name)
        let after = byName(new, \.name)
        for listener in new {
            guard let was = before[listener.name] else {
                out.append("listener \(listener.name) added (\(listener.listen) \(listener.proto.rawValue) → route \(listener.route))")
                continue
            }
            var parts: [String] = []
            if was.listen != listener.listen { parts.append("listen \(was.listen) → \(listener.listen)") }
            if was.proto != listener.proto { parts.append("protocol \(was.proto.rawValue) → \(listener.proto.rawValue)") }
            if was.route != listener.route { parts.append("route \(was.route) → \(listener.route)") }
            if was.tls != listener.tls { parts.append("tls changed") }
            if !parts.isEmpty { out.append("listener \(listener.name): " + parts.joined(separator: ", ")) }
        }
        for listener in old where after[listener.name] == nil {
            out.append("listener \(listener.name) removed (\(listener.listen))")
        }
        return out
    }

    static func routes(_ old: [RouteConfig], _ new: [RouteConfig]) -> [String] {
        var out: [String] = []
        let before = byName(old, \.name)
        let after = byName(new, \.name)
        for route in new {
            guard let was = before[route.name] else {
                out.append("route \(route.name) added: " + route.pools.map { "\($0.name) \($0.weight)" }.joined(separator: ", "))
                continue
            }
            var parts: [String] = []
            if let split = splitChange(was.pools, route.pools) { parts.append(split) }
            if was.ramp != route.ramp { parts.append("ramp \(was.ramp) → \(route.ramp)") }
            if was.sticky != route.sticky {
                parts.append("sticky " + (route.sticky.map { "cookie \($0.cookie)" } ?? "off"))
            }
            if was.override != route.override {
                parts.append("override " + (route.override.map { "header \($0.header)" } ?? "off"))
            }
            if was.rollout != route.rollout {
                parts.append(route.rollout == nil ? "rollout policy removed" : was.rollout == nil ? "rollout policy added" : "rollout policy changed")
            }
            if !parts.isEmpty { out.append("route \(route.name): " + parts.joined(separator: ", ")) }
        }
        for route in old where after[route.name] == nil { out.append("route \(route.name) removed") }
        return out
    }

    /// "blue 100 → 0, green 0 → 100": every pool of either split (new order first), a pool
    /// absent from one side counting as weight 0; nil when no pool's weight moved.
    static func splitChange(_ old: [(name: String, weight: Int)], _ new: [(name: String, weight: Int)]) -> String? {
        let before = Dictionary(old.map { ($0.name, $0.weight) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(new.map { ($0.name, $0.weight) }, uniquingKeysWith: { a, _ in a })
        var names = new.map(\.name)
        names += old.map(\.name).filter { after[$0] == nil }
        guard names.contains(where: { (before[$0] ?? 0) != (after[$0] ?? 0) }) else { return nil }
        return names.map { "\($0) \(before[$0] ?? 0) → \(after[$0] ?? 0)" }.joined(separator: ", ")
    }

    static func pools(_ old: [PoolConfig], _ new: [PoolConfig]) -> [String] {
        var out: [String] = []
        let before = byName(old, \.name)
        let after = byName(new, \.name)
        for pool in new {
            guard let was = before[pool.name] else {
                let count = pool.backends.count
                out.append("pool \(pool.name) added (\(count) backend\(count == 1 ? "" : "s"))")
                continue
            }
            var parts: [String] = []
            if was.balance != pool.balance { parts.append("balance \(was.balance.rawValue) → \(pool.balance.rawValue)") }
            if was.healthCheck != pool.healthCheck { parts.append("health_check " + (pool.healthCheck == nil ? "removed" : was.healthCheck == nil ? "added" : "changed")) }
            if was.passive != pool.passive { parts.append("passive health changed") }
            if was.slowStart != pool.slowStart { parts.append("slow_start \(was.slowStart) → \(pool.slowStart)") }
            if was.deregistrationDelay != pool.deregistrationDelay {
                parts.append("deregistration_delay \(was.deregistrationDelay) → \(pool.deregistrationDelay)")
            }
            if was.tls != pool.tls { parts.append("tls changed") }
            if !parts.isEmpty { out.append("pool \(pool.name): " + parts.joined(separator: ", ")) }
            out += backends(pool: pool.name, was.backends, pool.backends)
        }
        for pool in old where after[pool.name] == nil { out.append("pool \(pool.name) removed") }
        return out
    }

    static func backends(pool: String, _ old: [BackendConfig], _ new: [BackendConfig]) -> [String] {
        var out: [String] = []
        let before = byName(old, \.address)
        let after = byName(new, \.address)
        for backend in new {
            if let was = before[backend.address] {
                if was.weight != backend.weight {
                    out.append("pool \(pool): backend \(backend.address) weight \(was.weight) → \(backend.weight)")
                }
                if was.state != backend.state {
                    out.append("pool \(pool): backend \(backend.address) \(backend.state.rawValue)")
                }
            } else {
                let drain = backend.state == .drain ? ", drain" : ""
                out.append("pool \(pool): backend \(backend.address) added (weight \(backend.weight)\(drain))")
            }
        }
        for backend in old where after[backend.address] == nil {
            out.append("pool \(pool): backend \(backend.address) removed")
        }
        return out
    }

    static func tunables(_ old: CutoverConfig, _ new: CutoverConfig) -> [String] {
        var out: [String] = []
        let (a, b) = (old.timeouts, new.timeouts)
        let timeouts: [(String, Duration, Duration)] = [
            ("connect", a.connect, b.connect), ("client_header", a.clientHeader, b.clientHeader),
            ("upstream_response", a.upstreamResponse, b.upstreamResponse), ("idle", a.idle, b.idle),
            ("shutdown_delay", a.shutdownDelay, b.shutdownDelay), ("shutdown", a.shutdown, b.shutdown),
        ]
        for (key, was, now) in timeouts where was != now { out.append("timeouts.\(key): \(was) → \(now)") }
        if old.limits.maxConnections != new.limits.maxConnections {
            out.append("limits.max_connections: \(old.limits.maxConnections) → \(new.limits.maxConnections)")
        }
        if old.limits.maxHeaderBytes != new.limits.maxHeaderBytes {
            out.append("limits.max_header_bytes: \(old.limits.maxHeaderBytes) → \(new.limits.maxHeaderBytes)")
        }
        if old.accessLog != new.accessLog {
            out.append("access_log: \(describe(old.accessLog)) → \(describe(new.accessLog))")
        }
        return out
    }

    static func describe(_ workers: WorkerCount) -> String {
        switch workers {
        case .auto: "auto"
        case .fixed(let n): "\(n)"
        }
    }

    static func describe(_ log: AccessLogConfig) -> String {
        switch log {
        case .off: "off"
        case .stdout: "stdout"
        case .file(let path): path
        }
    }

    /// First occurrence wins: validation rejects duplicate names, so this only guards the diff
    /// against a crash on input it was never meant to see.
    private static func byName<T, K: Hashable>(_ items: [T], _ key: (T) -> K) -> [K: T] {
        Dictionary(items.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
    }
}

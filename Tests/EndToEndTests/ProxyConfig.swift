/// The YAML a test runs the proxy with. One worker, so the rotation state the round-robin and
/// split assertions count on is a single one; a short shutdown so stops are quick.
struct ProxyConfig {
    struct Listener {
        var name: String
        var port: UInt16
        var proto = "http"
        var route: String
        /// `tls: { certificates: [...] }` when not empty: (certificate file, key file) pairs.
        var certificates: [(cert: String, key: String)] = []
        /// Extra YAML lines in the listener's item after its `route:` line, written without the
        /// item's indentation (e.g. `rules:` and its indented list).
        var lines: [String] = []
    }
    struct Pool {
        var name: String
        var backends: [(port: UInt16, weight: Int)]
    }

    var listeners: [Listener]
    var routes: [(name: String, split: [(pool: String, weight: Int)])]
    var pools: [Pool]
    var timeouts: [(key: String, value: String)] = [("connect", "1s"), ("shutdown", "5s")]
    var limits: [(key: String, value: Int)] = []
    /// The admin API's port and optional token; no `admin:` section when nil.
    var admin: (port: UInt16, token: String?)?
    /// Data-plane threads (`workers:`).
    var workers = 1
    /// `access_log:` as written (`stdout`, a path); none when nil.
    var accessLog: String?
    /// Extra YAML lines in a route's section after its `pools:` line, by route name, written
    /// without the section's indentation (e.g. `sticky: { cookie: cutover_pool }`).
    var routeLines: [String: [String]] = [:]
    /// Extra YAML lines in a pool's section after its backends, by pool name, written without the
    /// section's indentation (e.g. `slow_start: 4s`, or `health_check:` and its indented keys).
    var poolLines: [String: [String]] = [:]

    /// One HTTP listener on `port` whose route `app` splits between `pools` by `split`.
    static func http(port: UInt16, split: [(pool: String, weight: Int)], pools: [Pool]) -> ProxyConfig {
        ProxyConfig(listeners: [Listener(name: "web", port: port, route: "app")],
                    routes: [("app", split)], pools: pools)
    }

    /// One HTTP listener on `port` in front of one pool `blue` holding `backends` (weight 1 each).
    static func http(port: UInt16, backends: [Backend]) -> ProxyConfig {
        http(port: port, split: [("blue", 100)],
             pools: [Pool(name: "blue", backends: backends.map { ($0.port, 1) })])
    }

    /// The first listener terminates TLS with `certificates` (the first is the default).
    func terminatingTLS(_ certificates: [(cert: String, key: String)]) -> ProxyConfig {
        var copy = self
        copy.listeners[0].certificates = certificates
        return copy
    }

    func setting(timeout key: String, _ value: String) -> ProxyConfig {
        var copy = self
        copy.timeouts.removeAll { $0.key == key }
        copy.timeouts.append((key, value))
        return copy
    }

    func setting(limit key: String, _ value: Int) -> ProxyConfig {
        var copy = self
        copy.limits.removeAll { $0.key == key }
        copy.limits.append((key, value))
        return copy
    }

    func withAdmin(port: UInt16, token: String? = nil) -> ProxyConfig {
        var copy = self
        copy.admin = (port, token)
        return copy
    }

    func with(accessLog value: String?) -> ProxyConfig {
        var copy = self
        copy.accessLog = value
        return copy
    }

    func with(workers count: Int) -> ProxyConfig {
        var copy = self
        copy.workers = count
        return copy
    }

    /// Adds `lines` (without indentation) to route `name`'s section.
    func adding(route name: String, lines extra: [String]) -> ProxyConfig {
        var copy = self
        copy.routeLines[name, default: []] += extra
        return copy
    }

    /// Adds `lines` (without indentation) to pool `name`'s section.
    func adding(pool name: String, lines extra: [String]) -> ProxyConfig {
        var copy = self
        copy.poolLines[name, default: []] += extra
        return copy
    }

    var yaml: String {
        var lines = ["workers: \(workers)"]
        if let admin {
            lines += ["admin:", "  listen: 127.0.0.1:\(admin.port)"]
            if let token = admin.token { lines.append("  token: \(token)") }
        }
        lines.append("listeners:")
        for l in listeners {
            lines += ["  - name: \(l.name)", "    listen: 127.0.0.1:\(l.port)", "    protocol: \(l.proto)", "    route: \(l.route)"]
            lines += l.lines.map { "    " + $0 }
            if !l.certificates.isEmpty {
                lines += ["    tls:", "      certificates:"]
                lines += l.certificates.map { "        - { cert: \"\($0.cert)\", key: \"\($0.key)\" }" }
            }
        }
        lines.append("routes:")
        for route in routes {
            lines += ["  \(route.name):",
                      "    pools: { \(route.split.map { "\($0.pool): \($0.weight)" }.joined(separator: ", ")) }"]
            lines += (routeLines[route.name] ?? []).map { "    " + $0 }
        }
        lines.append("pools:")
        for pool in pools {
            lines += ["  \(pool.name):", "    backends:"]
            lines += pool.backends.map { "      - { address: 127.0.0.1:\($0.port), weight: \($0.weight) }" }
            lines += (poolLines[pool.name] ?? []).map { "    " + $0 }
        }
        if !timeouts.isEmpty {
            lines.append("timeouts:")
            lines += timeouts.map { "  \($0.key): \($0.value)" }
        }
        if !limits.isEmpty {
            lines.append("limits:")
            lines += limits.map { "  \($0.key): \($0.value)" }
        }
        if let accessLog { lines.append("access_log: \(accessLog)") }
        return lines.joined(separator: "\n") + "\n"
    }
}

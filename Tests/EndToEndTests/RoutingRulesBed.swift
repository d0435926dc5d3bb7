import Foundation
import Glibc

/// One proxy fronting several services (issue 16): a listener whose rules send hosts and paths to
/// routes, one backend per pool named after its pool (so a response's X-Backend names the pool
/// that served it), the admin API on, one worker (each route's smooth weighted rotation is then
/// exact in every window).
struct RoutingRulesBed: AdminAPIBed, BackendsByName {
    /// A route: its split and extra lines (`hash_on: …`, `request_headers: …`), unindented.
    struct Route {
        var name: String
        var split: [(pool: String, weight: Int)]
        var lines: [String] = []
    }

    /// One request as a client sends it; `host` goes in the Host field.
    struct Request {
        var method = "GET"
        var host: String
        var path: String
        var headers: [String] = []
        var body: String?

        init(_ method: String = "GET", host: String, _ path: String, _ headers: [String] = [], body: String? = nil) {
            self.method = method
            self.host = host
            self.path = path
            self.headers = headers
            self.body = body
        }

        var text: String {
            var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n" + headers.map { $0 + "\r\n" }.joined()
            if let body { head += "Content-Length: \(body.utf8.count)\r\n" }
            return head + "\r\n" + (body ?? "")
        }
    }

    let bed: TestBed
    let backends: [String: Backend]
    let port: UInt16
    let adminPort: UInt16
    let proxy: ProxyProcess

    /// Starts a backend per pool the routes name (concurrently), then the proxy with `rules` (flow
    /// mappings as an operator writes them, e.g. `{ host: api.example.com, route: api }`) on a
    /// listener `web` whose default route is `defaultRoute`.
    static func start(routes: [Route], rules: [String], defaultRoute: String = "app") async throws -> RoutingRulesBed {
        let bed = try TestBed()
        do {
            var pools: [String] = []
            for pool in routes.flatMap({ $0.split.map(\.pool) }) where !pools.contains(pool) { pools.append(pool) }
            let backends = try await withThrowingTaskGroup(of: Backend.self) { group in
                for pool in pools { group.addTask { try await bed.backend(pool) } }
                var started: [String: Backend] = [:]
                for try await backend in group { started[backend.name] = backend }
                return started
            }
            let port = try Ports.free()
            let adminPort = try Ports.free()
            let config = Self.config(routes, rules: rules, defaultRoute: defaultRoute, pools: pools, backends: backends,
                                     port: port, adminPort: adminPort)
            let proxy = try await bed.proxy(config)
            return RoutingRulesBed(bed: bed, backends: backends, port: port, adminPort: adminPort, proxy: proxy)
        } catch {
            bed.tearDown()
            throw error
        }
    }

    static func config(_ routes: [Route], rules: [String], defaultRoute: String, pools: [String],
                       backends: [String: Backend], port: UInt16, adminPort: UInt16?, workers: Int = 1) -> ProxyConfig {
        var listener = ProxyConfig.Listener(name: "web", port: port, route: defaultRoute)
        if !rules.isEmpty { listener.lines = ["rules:"] + rules.map { "  - " + $0 } }
        var config = ProxyConfig(listeners: [listener], routes: routes.map { ($0.name, $0.split) },
                                 pools: pools.map { ProxyConfig.Pool(name: $0, backends: [(backends[$0]?.port ?? 9, 1)]) })
            .with(workers: workers)
        for route in routes where !route.lines.isEmpty { config = config.adding(route: route.name, lines: route.lines) }
        if let adminPort { config = config.withAdmin(port: adminPort) }
        return config
    }

    /// The config with these routes and rules, on this bed's backends (every pool the routes name
    /// must be one the bed started with); `port` nil: this bed's listener and admin API.
    func config(_ routes: [Route], rules: [String], defaultRoute: String = "app", port: UInt16? = nil,
                workers: Int = 1) -> ProxyConfig {
        Self.config(routes, rules: rules, defaultRoute: defaultRoute, pools: backends.keys.sorted(), backends: backends,
                    port: port ?? self.port, adminPort: port == nil ? adminPort : nil, workers: workers)
    }

    /// Another proxy process in front of the same backends, on a port of its own, without an
    /// admin API (two processes must not share one).
    func secondProxy(_ routes: [Route], rules: [String], workers: Int) async throws -> ProxyProcess {
        try await bed.proxy(config(routes, rules: rules, port: try Ports.free(), workers: workers))
    }

    /// Rewrites the config file, sends SIGHUP and waits until `/status` shows the next generation
    /// (published only once every worker has the new snapshot).
    func reload(_ config: ProxyConfig) async throws {
        let before = try await generation()
        try proxy.reload(config.yaml)
        try await waitUntil("/status shows generation \(before + 1)") { try await generation() > before }
        let status = try await self.status()
        if let error = (status["last_reload"] as? [String: Any])?["error"] as? String {
            throw ChildFailure("the reload was rejected: \(error)")
        }
    }

    /// Sends `requests` one after the other on one keep-alive connection (to `port`, default this
    /// bed's listener) and returns the answers.
    func send(_ requests: [Request], port: UInt16? = nil) async throws -> [HTTPResponse] {
        let client = try RawClient(port: port ?? self.port)
        var answers: [HTTPResponse] = []
        for request in requests {
            try client.send(request.text)
            answers.append(try await client.readResponse(toHEAD: request.method == "HEAD"))
        }
        return answers
    }

    /// One request on a connection of its own.
    func send(_ request: Request) async throws -> HTTPResponse {
        try await send([request])[0]
    }
}

extension HTTPResponse {
    /// The pool whose backend answered (its X-Backend, whatever the status), or `proxy N` for an
    /// answer the proxy gave itself.
    var pool: String { header("X-Backend") ?? "proxy \(status)" }

    /// The values of the fields named `name` the backend received (from `/headers`).
    func echoed(_ name: String) throws -> [String] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let fields = object["headers"] as? [[String]]
        else { throw ChildFailure("not a /headers answer: \(bodyText)") }
        return fields.filter { $0.first?.lowercased() == name.lowercased() }.compactMap { $0.count > 1 ? $0[1] : nil }
    }
}

/// How many times each value occurs.
func tally<S: Sequence>(_ values: S) -> [String: Int] where S.Element == String {
    values.reduce(into: [:]) { $0[$1, default: 0] += 1 }
}

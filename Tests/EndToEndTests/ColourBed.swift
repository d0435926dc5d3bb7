import Foundation
import Glibc

/// A proxy with the admin API in front of one backend per colour (pool `blue` holds backend
/// "blue", and so on), for the blue/green, split, sticky and override suites. Every config it
/// writes keeps the same listener, admin port, pools and workers; only the split and the route's
/// extra lines change.
struct ColourBed: AdminAPIBed, BackendsByName {
    let bed: TestBed
    let backends: [String: Backend]
    let colours: [String]
    let port: UInt16
    let adminPort: UInt16
    let workers: Int
    let proxy: ProxyProcess

    static func start(_ split: [(pool: String, weight: Int)], workers: Int = 1, routeLines: [String] = []) async throws -> ColourBed {
        let bed = try TestBed()
        do {
            var backends: [String: Backend] = [:]
            for colour in split.map(\.pool) { backends[colour] = try await bed.backend(colour) }
            let port = try Ports.free()
            let adminPort = try Ports.free()
            let config = Self.config(split, backends: backends, port: port, adminPort: adminPort,
                                     workers: workers, routeLines: routeLines)
            let proxy = try await bed.proxy(config)
            return ColourBed(bed: bed, backends: backends, colours: split.map(\.pool), port: port,
                             adminPort: adminPort, workers: workers, proxy: proxy)
        } catch {
            bed.tearDown()
            throw error
        }
    }

    private static func config(_ split: [(pool: String, weight: Int)], backends: [String: Backend], port: UInt16,
                               adminPort: UInt16, workers: Int, routeLines: [String]) -> ProxyConfig {
        ProxyConfig.http(port: port, split: split,
                         pools: split.map { ProxyConfig.Pool(name: $0.pool, backends: [(backends[$0.pool]!.port, 1)]) })
            .withAdmin(port: adminPort)
            .with(workers: workers)
            .adding(route: "app", lines: routeLines)
    }

    /// The config with this split (every colour of the bed must be named, weight 0 included).
    func config(_ split: [(pool: String, weight: Int)], routeLines: [String] = []) -> ProxyConfig {
        Self.config(split, backends: backends, port: port, adminPort: adminPort, workers: workers, routeLines: routeLines)
    }

    subscript(colour: String) -> Backend { backends[colour]! }

    /// Rewrites the config file without telling the proxy.
    func write(_ yaml: String) throws {
        try yaml.write(to: proxy.configURL, atomically: true, encoding: .utf8)
    }

    /// Writes `config` and reloads through `POST /reload`. `returned` is CLOCK_MONOTONIC once the
    /// answer has been read: a request sent after it must be routed under the new config.
    func reload(_ config: ProxyConfig) async throws -> (response: HTTPResponse, returned: UInt64) {
        try write(config.yaml)
        let response = try await admin("POST", "/reload")
        return (response, monotonicNanoseconds())
    }

    /// `GET path` through the proxy on a new connection, with extra header lines.
    func get(_ path: String = "/", _ headers: [String] = []) async throws -> HTTPResponse {
        let client = try RawClient(port: port)
        try client.send(ColourBed.request(path, headers))
        return try await client.readResponse()
    }

    static func request(_ path: String = "/", _ headers: [String] = []) -> String {
        "GET \(path) HTTP/1.1\r\nHost: app\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
    }
}

extension HTTPResponse {
    /// The answering backend's name (its X-Backend field), or `status N` for anything but a 200.
    var answeredBy: String { status == 200 ? header("X-Backend") ?? "no X-Backend" : "status \(status)" }

    /// The names of the fields the backend received, lower-cased (from `/headers`).
    var echoedFieldNames: [String] {
        get throws {
            guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                  let fields = object["headers"] as? [[String]]
            else { throw ChildFailure("not a /headers answer: \(bodyText)") }
            return fields.compactMap { $0.first?.lowercased() }
        }
    }
}

import Foundation
import Glibc

/// A proxy with the admin API in front of one pool `blue`, for the backend-lifecycle suites
/// (issue 5: health checks, slow start, deregistration delay, graceful shutdown). Backends are
/// named by port; `/status` is read per backend address; reloads go through `POST /reload` and
/// keep the pool's extra lines (`health_check:`, `slow_start:`, …), timeouts and workers.
struct LifecycleBed: AdminAPIBed {
    let bed: TestBed
    let port: UInt16
    let adminPort: UInt16
    let poolLines: [String]
    let timeouts: [(key: String, value: String)]
    let workers: Int
    let proxy: ProxyProcess

    /// Starts the proxy (and waits until it accepts) with pool `blue` holding `backends`.
    static func start(_ backends: [(port: UInt16, weight: Int)], poolLines: [String] = [],
                      timeouts: [(key: String, value: String)] = [], workers: Int = 1,
                      in bed: TestBed) async throws -> LifecycleBed {
        let port = try Ports.free()
        let adminPort = try Ports.free()
        let config = Self.config(backends, poolLines: poolLines, timeouts: timeouts, workers: workers,
                                 port: port, adminPort: adminPort)
        let proxy = try await bed.proxy(config)
        return LifecycleBed(bed: bed, port: port, adminPort: adminPort, poolLines: poolLines, timeouts: timeouts,
                            workers: workers, proxy: proxy)
    }

    private static func config(_ backends: [(port: UInt16, weight: Int)], poolLines: [String],
                               timeouts: [(key: String, value: String)], workers: Int,
                               port: UInt16, adminPort: UInt16) -> ProxyConfig {
        var config = ProxyConfig.http(port: port, split: [("blue", 100)],
                                      pools: [ProxyConfig.Pool(name: "blue", backends: backends)])
            .withAdmin(port: adminPort)
            .with(workers: workers)
            .adding(pool: "blue", lines: poolLines)
        for (key, value) in timeouts { config = config.setting(timeout: key, value) }
        return config
    }

    /// The same proxy's config with pool `blue` holding `backends` instead.
    func config(_ backends: [(port: UInt16, weight: Int)]) -> ProxyConfig {
        Self.config(backends, poolLines: poolLines, timeouts: timeouts, workers: workers, port: port, adminPort: adminPort)
    }

    /// Writes `config` and reloads through `POST /reload`: `asked` just before the request,
    /// `returned` once the answer has been read (every worker routes by the new config then).
    func reload(_ config: ProxyConfig) async throws -> (response: HTTPResponse, asked: UInt64, returned: UInt64) {
        try config.yaml.write(to: proxy.configURL, atomically: true, encoding: .utf8)
        let asked = monotonicNanoseconds()
        let response = try await admin("POST", "/reload")
        return (response, asked, monotonicNanoseconds())
    }

    /// Pool `blue`'s backends as `/status` lists them (draining ones included).
    func backends() async throws -> [[String: Any]] {
        let response = try await admin("GET", "/status")
        guard response.status == 200,
              let status = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let pools = status["pools"] as? [[String: Any]],
              let blue = pools.first(where: { $0["name"] as? String == "blue" }),
              let backends = blue["backends"] as? [[String: Any]]
        else { throw ChildFailure("bad /status answer: \(response.status) \(response.bodyText)") }
        return backends
    }

    /// The `/status` entry of the backend on `port`; nil when it is not listed.
    func backend(_ port: UInt16) async throws -> [String: Any]? {
        try await backends().first { $0["address"] as? String == "127.0.0.1:\(port)" }
    }

    /// The `state` `/status` shows for the backend on `port` (nil when not listed).
    func state(_ port: UInt16) async throws -> String? {
        try await backend(port)?["state"] as? String
    }

    /// `GET path` through the proxy on a new connection.
    func get(_ path: String = "/") async throws -> HTTPResponse {
        let client = try RawClient(port: port)
        try client.send("GET \(path) HTTP/1.1\r\nHost: app\r\n\r\n")
        return try await client.readResponse()
    }
}

/// `Fixtures/backend.py` started again on the port a killed backend had (`Backend.start` always
/// takes a port the kernel chooses). The caller kills it (`defer`), as `TestBed` does its own.
func restartBackend(_ name: String, port: UInt16, in directory: URL) async throws -> ChildProcess {
    let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                 ["python3", try Backend.script.path, "--name", name, "--port", "\(port)"],
                                 label: "backend-\(name)-again", in: directory)
    do {
        try await waitUntil("backend \(name) listens on \(port) again") {
            if !child.isRunning { throw ChildFailure("backend \(name) exited: \(child.stderrText)") }
            return child.stdoutText.contains("READY \(port)\n")
        }
    } catch {
        child.kill()
        throw error
    }
    return child
}

/// Request heads the backend on `port` has received (its `/count`, asked directly).
func backendHeads(port: UInt16) async throws -> Int {
    let client = try RawClient(port: port)
    try client.send("GET /count HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
    let response = try await client.readResponse()
    guard response.status == 200,
          let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int],
          let heads = json["heads"]
    else { throw ChildFailure("backend on \(port): bad /count answer \(response.bodyText)") }
    return heads
}

extension LoadReport {
    /// The share of the successful requests sent in [from, to) and answered by then that
    /// `backend` answered, and how many there were (-1 share when none).
    func share(of backend: String, sentFrom from: UInt64, to: UInt64) -> (share: Double, count: Int) {
        let window = records.filter { $0.succeeded && $0.sent >= from && $0.sent < to && $0.done <= to }
        guard !window.isEmpty else { return (-1, 0) }
        return (Double(window.filter { $0.backend == backend }.count) / Double(window.count), window.count)
    }
}

/// Milliseconds between two CLOCK_MONOTONIC readings, for messages.
func milliseconds(_ from: UInt64, _ to: UInt64) -> Int64 {
    (Int64(bitPattern: to) - Int64(bitPattern: from)) / 1_000_000
}

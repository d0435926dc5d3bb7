import Foundation
import Glibc

/// A proxy speaking HTTP/2 to clients (issue 17), with real HTTP/2 clients to drive it: listener
/// `web` is plain with `http2: h2c` (prior knowledge) and path/header rules, listener `secure`
/// terminates TLS for `site.test` (ALPN h2 then http/1.1, the default). Route `app` → pool `blue`
/// (backend "blue"); on both listeners `/headers` and requests carrying `X-Probe: 1` take route
/// `api` → pool `green`
/// (backend "green"), so an answer's X-Backend names the route that served it. One worker, the
/// admin API on, an access log file.
struct HTTP2Bed {
    let bed: TestBed
    let blue: Backend
    let green: Backend
    let site: TestSite
    let proxy: ProxyProcess
    let h2cPort: UInt16
    let tlsPort: UInt16
    let adminPort: UInt16
    var accessLog: URL { bed.directory.appendingPathComponent("access.log") }

    static func start(adjust: (ProxyConfig) -> ProxyConfig = { $0 }) async throws -> HTTP2Bed {
        let bed = try TestBed()
        do {
            async let blue = bed.backend("blue")
            async let green = bed.backend("green")
            let (b, g) = try await (blue, green)
            let site = try TestSite.make(bed.certificates, "site", names: ["site.test"])
            let (h2cPort, tlsPort, adminPort) = (try Ports.free(), try Ports.free(), try Ports.free())
            let rules = ["rules:", "  - { path: /headers, route: api }", "  - { header: { X-Probe: \"1\" }, route: api }"]
            var web = ProxyConfig.Listener(name: "web", port: h2cPort, route: "app")
            web.lines = ["http2: h2c"] + rules
            var secure = ProxyConfig.Listener(name: "secure", port: tlsPort, route: "app")
            secure.lines = rules
            secure.certificates = [site.pair]
            let config = ProxyConfig(listeners: [web, secure], routes: [("app", [("blue", 100)]), ("api", [("green", 100)])],
                                     pools: [.init(name: "blue", backends: [(b.port, 1)]),
                                             .init(name: "green", backends: [(g.port, 1)])])
                .withAdmin(port: adminPort)
                .with(accessLog: bed.directory.appendingPathComponent("access.log").path)
            let proxy = try await bed.proxy(adjust(config))
            return HTTP2Bed(bed: bed, blue: b, green: g, site: site, proxy: proxy, h2cPort: h2cPort, tlsPort: tlsPort,
                            adminPort: adminPort)
        } catch {
            bed.tearDown()
            throw error
        }
    }

    var h2cURL: String { "http://127.0.0.1:\(h2cPort)" }
    var tlsURL: String { "https://site.test:\(tlsPort)" }

    /// curl trusting the site's CA, with site.test resolving to the proxy.
    func curl(_ arguments: [String]) async throws -> CurlResult {
        try await bed.curl(["--cacert", site.authority.certificateFile.path,
                            "--resolve", "site.test:\(tlsPort):127.0.0.1"] + arguments)
    }

    /// Runs a tool (nghttp, h2load) to completion.
    func run(_ tool: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws -> ToolRun {
        let child = try start(tool, arguments)
        defer { child.kill() }
        let status = try await child.waitForExit(timeout: timeout)
        return ToolRun(status: status, stdout: try Data(contentsOf: child.stdoutURL), stderr: child.stderrText)
    }

    /// Starts a tool, killed at the latest by the bed's tear-down.
    func start(_ tool: String, _ arguments: [String]) throws -> ChildProcess {
        let child = try ChildProcess(URL(fileURLWithPath: tool), arguments, label: URL(fileURLWithPath: tool).lastPathComponent,
                                     in: bed.directory)
        bed.adopt(child)
        return child
    }

    /// `Fixtures/h2frames.py CASE PORT ARGS…` (default port: the h2c listener), to its JSON report.
    func frames(_ arguments: [String], port: UInt16? = nil, timeout: Duration = .seconds(30)) async throws -> FrameReport {
        let child = try startFrames(arguments, port: port)
        defer { child.kill() }
        let status = try await child.waitForExit(timeout: timeout)
        guard status == 0 else { throw ChildFailure("h2frames.py \(arguments) exited \(status): \(child.stderrText)") }
        return try FrameReport(child.stdoutText)
    }

    func startFrames(_ arguments: [String], port: UInt16? = nil) throws -> ChildProcess {
        guard let script = Bundle.module.url(forResource: "h2frames", withExtension: "py", subdirectory: "Fixtures") else {
            throw ChildFailure("Fixtures/h2frames.py is missing from the test bundle")
        }
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                     ["python3", script.path, arguments[0], "\(port ?? h2cPort)"] + arguments.dropFirst(),
                                     label: "h2frames-\(arguments[0])", in: bed.directory)
        bed.adopt(child)
        return child
    }

    func metrics() async throws -> MetricsScrape {
        try await MetricsScrape.fetch(adminPort: adminPort, in: bed.directory)
    }

    /// The proxy still answers a fresh HTTP/2 client (over TLS) on its one worker.
    func servesOthers() async throws -> Bool {
        let answer = try await curl(["--http2", "\(tlsURL)/", "-w", " %{http_code} %{http_version}"])
        return answer.text == "blue 200 2"
    }
}

/// What a tool printed.
struct ToolRun {
    var status: Int32
    var stdout: Data
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// The JSON line `Fixtures/h2frames.py` prints.
struct FrameReport: CustomStringConvertible {
    let json: [String: Any]
    let text: String

    init(_ stdout: String) throws {
        guard let line = stdout.split(separator: "\n").last,
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw ChildFailure("h2frames.py printed no report: \(stdout)") }
        json = object
        text = String(line)
    }

    var description: String { text }
    /// Every GOAWAY received: (last stream id, error code), in order.
    var goaways: [(last: Int, error: Int)] {
        ((json["goaways"] as? [[Int]]) ?? []).map { ($0[0], $0[1]) }
    }
    /// How the connection ended while the client read it: eof, reset, timeout, or nil.
    var closed: String? { json["closed"] as? String }
    /// `{"status": S}` or `{"reset": CODE}` of a case's first / second stream.
    func outcome(_ key: String) -> (status: Int?, reset: Int?) {
        let object = json[key] as? [String: Any]
        return (object?["status"] as? Int, object?["reset"] as? Int)
    }
    func int(_ key: String) -> Int? { json[key] as? Int }
    func double(_ key: String) -> Double? { (json[key] as? NSNumber)?.doubleValue }
    func frames(_ type: String) -> Int { (json["frames"] as? [String: Int])?[type] ?? 0 }
}

/// HTTP/2 error codes (RFC 9113 §7).
enum H2Code {
    static let noError = 0, protocolError = 1, internalError = 2, frameSizeError = 6, compressionError = 9
    static let enhanceYourCalm = 0xb
    static let maxStreamID = 2_147_483_647
}

/// h2load's summary lines.
struct H2LoadReport: CustomStringConvertible {
    var total = 0, started = 0, done = 0, succeeded = 0, failed = 0, errored = 0, timeout = 0
    var status2xx = 0, status3xx = 0, status4xx = 0, status5xx = 0
    var applicationProtocol = ""
    let text: String

    init(_ text: String) throws {
        self.text = text
        func numbers(after prefix: String) -> [Int]? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
            return line.dropFirst(prefix.count).split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        }
        guard let requests = numbers(after: "requests: "), requests.count == 7,
              let codes = numbers(after: "status codes: "), codes.count >= 8
        else { throw ChildFailure("unexpected h2load output: \(text)") }
        (total, started, done, succeeded, failed, errored, timeout) =
            (requests[0], requests[1], requests[2], requests[3], requests[4], requests[5], requests[6])
        // "status codes: N 2xx, N 3xx, …": the digits of "2xx" come out as numbers too.
        (status2xx, status3xx, status4xx, status5xx) = (codes[0], codes[2], codes[4], codes[6])
        if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Application protocol: ") }) {
            applicationProtocol = String(line.dropFirst("Application protocol: ".count))
        }
    }

    var description: String {
        "h2load: \(total) total, \(started) started, \(done) done, \(succeeded) succeeded, \(failed) failed, "
            + "\(errored) errored, \(timeout) timeout; \(status2xx) 2xx \(status3xx) 3xx \(status4xx) 4xx \(status5xx) 5xx"
    }
}

import Foundation
import Glibc
import Testing

/// Route `app`'s `rollout:` section as a test writes it. The defaults are the short policy the
/// rollout suites run with: three steps of one second judged every 250 ms, so a healthy canary is
/// promoted in about two seconds.
struct RolloutYAML {
    var steps = [10, 50, 100]
    var stepDuration = "1s"
    var minRequests = 20
    var interval = "250ms"
    var warmup = "0s"
    var errorRate: String? = "{ max_ratio: 2, max_increase: 0.5%, max: 5% }"
    var latency: String? = "{ quantile: 0.99, max_ratio: 1.3, max: 800ms }"
    var confidence = "99%"
    var onFailure = "rollback"
    var gates: [Int] = []
    var notify: String?

    /// The section's lines, without the route's indentation (`ProxyConfig.adding(route:lines:)`).
    var lines: [String] {
        var lines = ["# the canary policy: judged every \(interval)",
                     "rollout:",
                     "  steps: [\(steps.map(String.init).joined(separator: ", "))]",
                     "  step_duration: \(stepDuration)",
                     "  min_requests: \(minRequests)",
                     "  interval: \(interval)",
                     "  warmup: \(warmup)"]
        if errorRate != nil || latency != nil {
            lines.append("  checks:")
            if let errorRate { lines.append("    error_rate: \(errorRate)") }
            if let latency { lines.append("    latency: \(latency)") }
        }
        lines += ["  confidence: \(confidence)", "  on_failure: \(onFailure)"]
        if !gates.isEmpty { lines.append("  gates: [\(gates.map(String.init).joined(separator: ", "))]") }
        if let notify { lines.append("  notify: \(notify)") }
        return lines
    }

    /// Seconds in a duration written as `1s`, `250ms`.
    static func seconds(_ text: String) -> Double {
        if text.hasSuffix("ms") { return Double(text.dropLast(2))! / 1000 }
        return Double(text.dropLast())!
    }
}

/// A proxy with the admin API in front of pools `blue` (live) and `green` (the next release), one
/// backend each, whose route `app` has a `rollout:` policy. The config file is written as an
/// operator would write it (comments, a commented split line), and the proxy runs with
/// `cutover run -c FILE` on that file, so a test can reload it, edit it, or restart the proxy on it.
final class RolloutBed: AdminAPIBed, @unchecked Sendable {
    static let split = "    pools: { blue: 100, green: 0 }\n"
    static let decoratedSplit = "    # blue is live; green is the next release\n"
        + "    pools: { blue: 100, green: 0 }   # cutover rollout start app green\n"
    static let headComment = "# rollout tests: this comment must survive every rewrite\n"

    let bed: TestBed
    let blue: Backend
    let green: Backend
    let port: UInt16
    let adminPort: UInt16
    let file: URL
    /// The config file as the test wrote it.
    let text: String
    /// `state_dir:` when the test set one.
    let stateDir: URL?
    let webhook: Webhook?
    private let lock = NSLock()
    private var children: [ChildProcess] = []
    private var running: ChildProcess

    private init(bed: TestBed, blue: Backend, green: Backend, port: UInt16, adminPort: UInt16, file: URL, text: String,
                 stateDir: URL?, webhook: Webhook?, proxy: ChildProcess) {
        self.bed = bed
        self.blue = blue
        self.green = green
        self.port = port
        self.adminPort = adminPort
        self.file = file
        self.text = text
        self.stateDir = stateDir
        self.webhook = webhook
        running = proxy
        children = [proxy] + (webhook.map { [$0.child] } ?? [])
    }

    deinit { tearDown() }

    /// `policy` nil: route `app` has no `rollout:` section. `plainRoute`: a second route `plain`
    /// (no listener) with the same split and no rollout policy. `webhook`: a receiver is started
    /// and the policy's `notify:` points at it.
    static func start(_ policy: RolloutYAML? = RolloutYAML(), workers: Int = 1, sticky: Bool = false,
                      stateDir: Bool = false, webhook: Bool = false, webhookFailsFirst: Int = 0,
                      plainRoute: Bool = false) async throws -> RolloutBed {
        let bed = try TestBed()
        var webhookChild: Webhook?
        do {
            let blue = try await bed.backend("blue")
            let green = try await bed.backend("green")
            var policy = policy
            if webhook {
                let receiver = try await Webhook.start(failFirst: webhookFailsFirst, in: bed.directory)
                webhookChild = receiver
                policy?.notify = "http://127.0.0.1:\(receiver.port)/hook"
            }
            let port = try Ports.free()
            let adminPort = try Ports.free()
            var config = ProxyConfig.http(port: port, split: [("blue", 100), ("green", 0)], pools: [
                .init(name: "blue", backends: [(blue.port, 1)]),
                .init(name: "green", backends: [(green.port, 1)]),
            ]).withAdmin(port: adminPort).with(workers: workers)
            if sticky { config = config.adding(route: "app", lines: ["sticky: { cookie: cutover_pool }"]) }
            if let policy { config = config.adding(route: "app", lines: policy.lines) }
            if plainRoute { config.routes.append(("plain", [("blue", 100), ("green", 0)])) }

            var text = config.yaml
            guard let first = text.range(of: split) else { throw ChildFailure("no split line in \(text)") }
            text.replaceSubrange(first, with: decoratedSplit)
            var stateURL: URL?
            if stateDir {
                let url = bed.directory.appendingPathComponent("state", isDirectory: true)
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                stateURL = url
                text = "state_dir: \(url.path)   # where rollouts.json lives\n" + text
            }
            text = headComment + text
            let file = bed.directory.appendingPathComponent("cutover.yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let proxy = try await launch(file: file, port: port, adminPort: adminPort, in: bed.directory)
            return RolloutBed(bed: bed, blue: blue, green: green, port: port, adminPort: adminPort, file: file, text: text,
                              stateDir: stateURL, webhook: webhookChild, proxy: proxy)
        } catch {
            webhookChild?.child.kill()
            bed.tearDown()
            throw error
        }
    }

    private static func launch(file: URL, port: UInt16, adminPort: UInt16, in directory: URL) async throws -> ChildProcess {
        let child = try ChildProcess(try CutoverBinary.url, ["run", "-c", file.path], label: "cutover", in: directory)
        do {
            try await waitUntil("the proxy accepts connections on \(port) and its admin API on \(adminPort)") {
                if !child.isRunning { throw ChildFailure("cutover exited at start-up: \(child.stderrText)") }
                return Ports.isAccepting(port) && Ports.isAccepting(adminPort)
            }
        } catch {
            child.kill()
            throw error
        }
        return child
    }

    private func track(_ child: ChildProcess) {
        lock.withLock { children.append(child) }
    }

    var proxy: ChildProcess { lock.withLock { running } }

    func tearDown() {
        let all = lock.withLock { () -> [ChildProcess] in
            defer { children.removeAll() }
            return children
        }
        for child in all { child.kill() }
        bed.tearDown()
    }

    /// SIGTERM, wait for a clean exit (returns its status), then `cutover run` again on the same file.
    @discardableResult
    func restart() async throws -> Int32 {
        let old = proxy
        old.send(signal: SIGTERM)
        let status = try await old.waitForExit(timeout: .seconds(15))
        let fresh = try await Self.launch(file: file, port: port, adminPort: adminPort, in: bed.directory)
        lock.withLock { running = fresh }
        track(fresh)
        return status
    }

    // MARK: the config file

    func fileText() throws -> String { try String(contentsOf: file, encoding: .utf8) }

    func write(_ text: String) throws { try text.write(to: file, atomically: true, encoding: .utf8) }

    /// The file as the test wrote it, with the split `blue: B, green: G`.
    func text(blue b: Int, green g: Int) -> String {
        text.replacingOccurrences(of: "{ blue: 100, green: 0 }   # cutover", with: "{ blue: \(b), green: \(g) }   # cutover")
    }

    // MARK: the command line

    /// `cutover ARGUMENTS -c FILE` to completion.
    func cutover(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await CutoverBinary.run(arguments + ["-c", file.path], in: bed.directory, timeout: timeout)
    }

    /// `cutover ARGUMENTS -c FILE` left running (a `--wait`), ended by `tearDown` at the latest.
    func background(_ arguments: [String]) throws -> ChildProcess {
        let child = try ChildProcess(try CutoverBinary.url, arguments + ["-c", file.path],
                                     label: "cutover-\(arguments.prefix(2).joined(separator: "-"))", in: bed.directory)
        track(child)
        return child
    }

    // MARK: the admin API

    /// The answer's status and JSON object.
    func adminJSON(_ method: String, _ path: String) async throws -> (status: Int, json: [String: Any]) {
        let response = try await admin(method, path)
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw ChildFailure("\(method) \(path) answered \(response.status) with no JSON object: \(response.bodyText)")
        }
        return (response.status, object)
    }

    /// `GET /rollouts/ROUTE`.
    func rollout(_ route: String = "app") async throws -> RolloutDoc {
        let (status, json) = try await adminJSON("GET", "/rollouts/\(route)")
        guard status == 200 else { throw ChildFailure("GET /rollouts/\(route) answered \(status): \(json)") }
        return RolloutDoc(json)
    }

    /// Polls `GET /rollouts/app` until `condition` holds; the timeout's error shows the last document.
    @discardableResult
    func waitForRollout(_ what: String, timeout: Duration = .seconds(15),
                        _ condition: (RolloutDoc) -> Bool) async throws -> RolloutDoc {
        var last: RolloutDoc?
        do {
            try await waitUntil(what, timeout: timeout, every: .milliseconds(25)) {
                let doc = try await rollout()
                last = doc
                return condition(doc)
            }
        } catch let error as WaitTimeout {
            throw ChildFailure("\(error); the last /rollouts/app: \(last?.description ?? "none")")
        }
        return last!
    }

    /// Polls `GET /rollouts/app` for `duration`; throws at the first document that breaks `condition`.
    /// (What a test asserts here is that something does NOT happen for a while, so it takes time.)
    @discardableResult
    func holds(_ what: String, for duration: Duration, _ condition: (RolloutDoc) -> Bool) async throws -> [RolloutDoc] {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: duration)
        var seen: [RolloutDoc] = []
        while clock.now < end {
            let doc = try await rollout()
            seen.append(doc)
            guard condition(doc) else { throw ChildFailure("expected \(what) to hold; it broke with \(doc)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        return seen
    }

    func metrics() async throws -> MetricsScrape {
        try await MetricsScrape.fetch(adminPort: adminPort, in: bed.directory)
    }

    /// Route `app`'s effective weights by pool, from `/status`.
    func effectiveWeights(route: String = "app") async throws -> [String: Int] {
        let routes = try await status()["routes"] as? [[String: Any]] ?? []
        let pools = routes.first { $0["name"] as? String == route }?["pools"] as? [[String: Any]] ?? []
        var weights: [String: Int] = [:]
        for pool in pools {
            if let name = pool["name"] as? String, let weight = pool["effective_weight"] as? Int { weights[name] = weight }
        }
        return weights
    }

    // MARK: traffic

    /// The load the rollout suites judge: three keep-alive clients asking for `/slow?ms=2`, about a
    /// thousand requests a second on loopback, little enough to leave the proxy's control plane CPU.
    func load(keepAlive: Int = 3, fresh: Int = 0, limit: Duration = .seconds(45)) throws -> LoadGenerator {
        try LoadGenerator.start(port: port, keepAlive: keepAlive, fresh: fresh, path: "/slow?ms=2", limit: limit,
                                in: bed.directory)
    }

    /// `count` GETs on one keep-alive connection: who answered each (its X-Backend, also on a
    /// failure answer), "-" when none.
    func answers(_ count: Int, headers: [String] = []) async throws -> [String] {
        let client = try RawClient(port: port)
        var seen: [String] = []
        for _ in 0..<count {
            try client.send(ColourBed.request("/", headers))
            seen.append(try await client.readResponse().header("X-Backend") ?? "-")
        }
        return seen
    }
}

/// One rollout document (`GET /rollouts/ROUTE`, an element of `/status`'s `rollouts`).
struct RolloutDoc: CustomStringConvertible {
    let json: [String: Any]
    init(_ json: [String: Any]) { self.json = json }

    var route: String? { json["route"] as? String }
    var canary: String? { json["canary"] as? String }
    var baseline: String? { json["baseline"] as? String }
    var state: String? { json["state"] as? String }
    var step: Int? { json["step"] as? Int }
    var steps: [Int]? { json["steps"] as? [Int] }
    var canaryWeight: Int? { (json["canary_weight"] as? NSNumber).map { Int(truncating: $0) } }
    var looks: Int? { json["looks"] as? Int }
    var verdict: String? { json["verdict"] as? String }
    var reason: String { json["reason"] as? String ?? "" }
    var stepSeconds: Double? { (json["step_seconds"] as? NSNumber)?.doubleValue }
    var stepDurationSeconds: Double? { (json["step_duration_seconds"] as? NSNumber)?.doubleValue }
    var startedAt: String? { json["started_at"] as? String ?? (json["started_at"] as? NSNumber)?.stringValue }
    var checks: [[String: Any]] { json["checks"] as? [[String: Any]] ?? [] }
    func check(_ name: String) -> [String: Any]? { checks.first { $0["check"] as? String == name } }
    var canarySample: (requests: Int, errors: Int) { Self.sample(json["canary_sample"]) }
    var baselineSample: (requests: Int, errors: Int) { Self.sample(json["baseline_sample"]) }
    var history: [[String: Any]] { json["history"] as? [[String: Any]] ?? [] }
    var events: [String] { history.map { $0["event"] as? String ?? "?" } }

    private static func sample(_ value: Any?) -> (requests: Int, errors: Int) {
        let object = value as? [String: Any]
        return (object?["requests"] as? Int ?? -1, object?["errors"] as? Int ?? -1)
    }

    var description: String {
        guard let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) else { return "\(json)" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// `Fixtures/webhook.py`: records every JSON body POSTed to it; `events()` reads them back.
final class Webhook: @unchecked Sendable {
    let port: UInt16
    let child: ChildProcess

    private init(port: UInt16, child: ChildProcess) {
        self.port = port
        self.child = child
    }

    /// `failFirst`: the first POSTs answered 500 (a sender that retries delivers them later).
    static func start(failFirst: Int = 0, in directory: URL) async throws -> Webhook {
        guard let script = Bundle.module.url(forResource: "webhook", withExtension: "py", subdirectory: "Fixtures") else {
            throw ChildFailure("Fixtures/webhook.py is missing from the test bundle")
        }
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, "--fail-first", "\(failFirst)"],
                                     label: "webhook", in: directory)
        var port: UInt16?
        do {
            try await waitUntil("the webhook receiver reports its port") {
                if let line = child.stdoutText.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }) {
                    port = UInt16(line.dropFirst("READY ".count))
                    return true
                }
                if !child.isRunning { throw ChildFailure("webhook.py exited: \(child.stderrText)") }
                return false
            }
        } catch {
            child.kill()
            throw error
        }
        guard let port else {
            child.kill()
            throw ChildFailure("webhook.py printed no valid port: \(child.stdoutText)")
        }
        return Webhook(port: port, child: child)
    }

    /// The bodies received so far, in arrival order.
    func events() async throws -> [[String: Any]] {
        let client = try RawClient(port: port)
        try client.send("GET /events HTTP/1.1\r\nHost: webhook\r\nConnection: close\r\n\r\n")
        let response = try await client.readResponse()
        guard response.status == 200, let list = try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] else {
            throw ChildFailure("webhook: bad /events answer \(response.status) \(response.bodyText)")
        }
        return list
    }

    /// POSTs received, and how many of them were answered 500 on purpose.
    func attempts() async throws -> (posts: Int, failed: Int) {
        let client = try RawClient(port: port)
        try client.send("GET /attempts HTTP/1.1\r\nHost: webhook\r\nConnection: close\r\n\r\n")
        let response = try await client.readResponse()
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int]
        return (object?["posts"] ?? -1, object?["failed"] ?? -1)
    }
}

extension Backend {
    /// `POST /_fault`: from now on `errorRate` of this backend's requests (exactly, evenly spread)
    /// answer `status`, and each is delayed `delayMs`. All zero clears the faults.
    func fault(errorRate: Double = 0, delayMs: Int = 0, status: Int = 500) async throws {
        let client = try RawClient(port: port)
        try client.send("POST /_fault?error_rate=\(errorRate)&delay_ms=\(delayMs)&status=\(status) HTTP/1.1\r\n"
                        + "Host: backend\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        let response = try await client.readResponse()
        guard response.status == 200 else { throw ChildFailure("backend \(name): /_fault answered \(response.status) \(response.bodyText)") }
    }
}

extension LoadReport {
    /// Requests sent after `moment` (CLOCK_MONOTONIC ns).
    func sent(after moment: UInt64) -> [LoadRecord] { records.filter { $0.sent > moment } }
}

/// Milliseconds from one CLOCK_MONOTONIC reading to a later one.
func rolloutMilliseconds(_ from: UInt64, _ to: UInt64) -> Int { Int((Int64(to) - Int64(from)) / 1_000_000) }

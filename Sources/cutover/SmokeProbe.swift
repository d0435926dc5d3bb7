import Config
import EventLoop
import Foundation

/// One blocking HTTP/1.1 GET with `Connection: close`, for `cutover switch`'s smoke test through
/// the proxy's own listener. Only the status and the start of the body matter, so the answer
/// is read until the proxy closes, 64 KiB, or the deadline, whichever comes first.
enum SmokeProbe {
    struct Answer {
        var status: Int
        /// The first bytes of the body, for the operator to read when the status is wrong.
        var snippet: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `tls`: the listener terminates TLS (see `exchangeTLS`).
    static func get(_ path: String, from address: SocketAddress, host: String, headers: [(String, String)],
                    tls: Bool = false, timeoutSeconds: Double) throws(Failure) -> Answer {
        let deadline = MonotonicClock.now() &+ UInt64(max(0, timeoutSeconds * 1e9))
        let fd: Int32
        do {
            fd = try BlockingSocket.connect(to: address, deadline: deadline)
        } catch {
            throw Failure(description: "cannot connect to \(host): \(error)")
        }
        defer { close(fd) }
        var head = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: cutover-switch\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "Connection: close\r\n\r\n").utf8)
        if tls { return try answer(exchangeTLS(fd, request: request, host: host, deadline: deadline), from: host) }
        try sendAll(fd, request[...], host: host, deadline: deadline)
        return try answer(readAll(fd, deadline: deadline), from: host)
    }

    /// Sends the whole request (or a TLS record) by `deadline`.
    static func sendAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, host: String, deadline: UInt64) throws(Failure) {
        do {
            try BlockingSocket.writeAll(fd, bytes, deadline: deadline)
        } catch {
            switch error {
            case .timedOut: throw Failure(description: "sending to \(host) timed out")
            case .failed: throw Failure(description: "sending to \(host) failed: \(error)")
            }
        }
    }

    /// What arrived: the head, then as much body as a snippet needs. Once the head is in, the
    /// body gets half a second at most (a 500 with a close-delimited body from a keep-alive
    /// backend would otherwise hold the probe until its deadline).
    private static func readAll(_ fd: Int32, deadline: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        var until = deadline
        var headEnd: Int?
        while headEnd.map({ bytes.count - $0 < 256 }) ?? (bytes.count < 65536) {
            // A timeout, an error and the end alike end the answer.
            let n = (try? BlockingSocket.readSome(fd, into: &chunk, deadline: until)) ?? 0
            guard n > 0 else { break }
            bytes += chunk[0..<n]
            if headEnd == nil, let end = bytes.firstRange(of: [13, 10, 13, 10] as [UInt8])?.upperBound {
                headEnd = end
                until = min(deadline, MonotonicClock.now() &+ 500_000_000)
            }
        }
        return bytes
    }

    private static func answer(_ bytes: [UInt8], from host: String) throws(Failure) -> Answer {
        let text = String(decoding: bytes, as: UTF8.self)
        let statusLine = text.prefix { $0 != "\r" && $0 != "\n" }
        let fields = statusLine.split(separator: " ", maxSplits: 2)
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let status = Int(fields[1]) else {
            if bytes.isEmpty { throw Failure(description: "no answer from \(host) within the time limit") }
            throw Failure(description: "\(host) did not answer HTTP: \(String(text.prefix(80)).debugDescription)")
        }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        let snippet = body.prefix(200).replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
        return Answer(status: status, snippet: snippet.trimmingCharacters(in: .whitespaces))
    }
}

extension SwitchRun {
    /// GETs the smoke path from POOL through an HTTP listener of ROUTE (plain first, else TLS), pinned to POOL by the
    /// route's override header; POOL must answer 2xx or 3xx within 5 s. Going through the proxy
    /// (not straight to a backend) also tests what the proxy does with POOL: its addresses,
    /// timeouts and framing.
    func smokeTest(_ config: CutoverConfig) throws(SwitchFailure) {
        let name = command.route
        let pool = command.pool
        guard let route = config.route(named: name) else { throw .refused("\(file) has no route '\(name)'") }
        guard let override = route.override else {
            throw .refused("route \(name) has no 'override:', and the smoke test needs its header to reach pool \(pool) before the switch: add 'override: { header: X-Cutover-Pool }' to the route and reload, or pass --no-smoke-test")
        }
        let serving = config.listeners.filter { $0.route == name && $0.proto == .http }
        // Else through a rule that routes to it: the probe is shaped to meet the rule.
        let ruled = config.listeners.filter { $0.proto == .http }.compactMap { listener in
            listener.rules.first { if case .route(name) = $0.action { true } else { false } }.map { (listener, $0) }
        }
        guard let listener = serving.first(where: { $0.tls == nil }) ?? serving.first
            ?? ruled.first(where: { $0.0.tls == nil })?.0 ?? ruled.first?.0 else {
            throw .refused("no HTTP listener serves route \(name), so there is none to smoke-test pool \(pool) through; pass --no-smoke-test")
        }
        let rule = serving.isEmpty ? ruled.first(where: { $0.0.name == listener.name })?.1 : nil
        // A wildcard listener is reached on loopback, where the default allow_from lets the header through.
        let host = switch listener.listen.host {
        case "0.0.0.0": "127.0.0.1"
        case "::": "::1"
        default: listener.listen.host
        }
        let target = HostPort(host: host, port: listener.listen.port)
        guard let address = SocketAddress.resolve(host: host, port: target.port) else {
            throw .refused("cannot resolve \(host), the address of listener \(listener.name)")
        }
        // A connection to a local address comes from that address: check the proxy will honour the header.
        if let source = CIDRBlock(parsing: address.ipString)?.address,
           !override.allowFromBlocks.contains(where: { $0.contains(source) }) {
            throw .refused("the smoke test would connect from \(address.ipString), which route \(name)'s override.allow_from (\(override.allowFrom.joined(separator: ", "))) leaves out: the proxy would drop the header and the test would prove nothing")
        }
        let probe = SmokeRequest(path: command.smokePath, host: target.description, rule: rule)
        let via = rule.map { " and rule \($0.name)" } ?? ""
        let what = "GET \(probe.path) via listener \(listener.name)\(via) (\(target)) with \(override.header): \(pool)"
        let answer: SmokeProbe.Answer
        do {
            answer = try SmokeProbe.get(probe.path, from: address, host: probe.host,
                                        headers: [(override.header, pool)] + probe.headers, tls: listener.tls != nil,
                                        timeoutSeconds: 5)
        } catch {
            throw .refused("smoke test of pool \(pool) failed: \(what): \(error)")
        }
        guard (200..<400).contains(answer.status) else {
            let body = answer.snippet.isEmpty ? "" : ": \(answer.snippet)"
            throw .refused("smoke test of pool \(pool) failed: \(what) answered \(answer.status)\(body)")
        }
        print("smoke test: \(what) → \(answer.status)")
    }
}

/// The smoke test's request, shaped to meet a listener rule when the route is reached only
/// through one: its host (a wildcard's `smoke.` name), its path (or the smoke path under its
/// prefix), and its header and cookie conditions (`1` where presence is enough).
struct SmokeRequest {
    var path: String
    var host: String
    var headers: [(String, String)] = []

    init(path: String, host: String, rule: RuleConfig?) {
        self.path = path
        self.host = host
        guard let rule else { return }
        if let ruleHost = rule.host { self.host = ruleHost.hasPrefix("*.") ? "smoke" + ruleHost.dropFirst(1) : ruleHost }
        if let exact = rule.path { self.path = exact }
        if let prefix = rule.pathPrefix {
            let base = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
            // A smoke path already under the prefix is kept; another is put under it.
            if path != base && !path.hasPrefix(base + "/") { self.path = base + (path.hasPrefix("/") ? path : "/" + path) }
        }
        headers = rule.headers.map { ($0.name, $0.value ?? "1") }
        if !rule.cookies.isEmpty {
            headers.append(("Cookie", rule.cookies.map { "\($0.name)=\($0.value ?? "1")" }.joined(separator: "; ")))
        }
    }
}

import ControlPlane
import EventLoop
import Foundation
import HTTP1
import Logging

/// Steady traffic through the demo's own listener, so a rollout has requests to judge: `GET /`
/// at `rate` per second from a few keep-alive client threads (a slow backend holds up one thread,
/// not the whole rate). Answers are counted by who answered (the backend's `X-Served-By`, else
/// `proxy`) and status; nothing is printed per request.
final class DemoTraffic: Sendable {
    let target: SocketAddress
    let rate: Int
    let connections: Int
    /// "blue 200" → count, since the last `take()`.
    private let counts = Locked<[String: Int]>([:])

    init(target: SocketAddress, rate: Int) {
        self.target = target
        self.rate = rate
        connections = max(1, min(8, (rate + 9) / 10))
    }

    /// Starts the client threads (and, with `summaryEvery`, a thread logging a one-line summary
    /// at that interval).
    func start(summaryEvery seconds: Int? = nil) {
        guard rate > 0 else { return }
        for index in 0..<connections {
            // Each thread sends its share, its schedule offset so the requests interleave.
            let perThread = Double(rate) / Double(connections)
            let offset = Double(index) / Double(rate)
            LoopThread.detached(name: "demo-traffic") { [self] in run(perSecond: perThread, offset: offset) }
        }
        if let seconds, seconds > 0 {
            LoopThread.detached(name: "demo-summary") { [self] in
                while true {
                    sleep(UInt32(seconds))
                    if let line = DemoTraffic.summary(take(), seconds: seconds) { ProcessLog.logger.info("\(line)") }
                }
            }
        }
    }

    /// The counts since the last call, and starts counting again.
    func take() -> [String: Int] {
        counts.withLock { counts in
            defer { counts = [:] }
            return counts
        }
    }

    /// "traffic, last 10 s: 500 requests; blue 450 (200), green 50 (200: 45, 500: 5)", or nil for none.
    static func summary(_ counts: [String: Int], seconds: Int) -> String? {
        let total = counts.values.reduce(0, +)
        guard total > 0 else { return nil }
        var byWho: [String: [(status: String, count: Int)]] = [:]
        for (key, count) in counts {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            byWho[parts[0], default: []].append((parts.count > 1 ? parts[1] : "?", count))
        }
        let parts = byWho.sorted { $0.key < $1.key }.map { who, statuses -> String in
            let sum = statuses.map(\.count).reduce(0, +)
            let sorted = statuses.sorted { $0.status < $1.status }
            let detail = sorted.count == 1 ? sorted[0].status : sorted.map { "\($0.status): \($0.count)" }.joined(separator: ", ")
            return "\(who) \(sum) (\(detail))"
        }
        return "traffic, last \(seconds) s: \(total) requests; \(parts.joined(separator: ", "))"
    }

    private func count(_ key: String) {
        counts.withLock { $0[key, default: 0] += 1 }
    }

    private func run(perSecond: Double, offset: Double) {
        let interval = 1 / perSecond
        var next = Date().timeIntervalSinceReferenceDate + offset
        var connection: Int32 = -1
        while true {
            let now = Date().timeIntervalSinceReferenceDate
            if next > now { usleep(UInt32((next - now) * 1e6)) }
            // Behind by more than a second (a slow backend): skip ahead rather than burst.
            next = max(next + interval, Date().timeIntervalSinceReferenceDate - 1)
            if connection < 0 {
                connection = connect()
                if connection < 0 {
                    count("unreachable -")
                    usleep(200_000)
                    continue
                }
            }
            switch exchange(connection) {
            case .answered(let key, let keepAlive):
                count(key)
                if !keepAlive {
                    close(connection)
                    connection = -1
                }
            case .failed:
                count("failed -")
                close(connection)
                connection = -1
            }
        }
    }

    /// How long a connect, and then a whole exchange, may take.
    private static let timeout: UInt64 = 10_000_000_000

    /// A connection to the listener (no Nagle delay), or -1.
    private func connect() -> Int32 {
        guard let fd = try? BlockingSocket.connect(to: target, deadline: MonotonicClock.now() &+ DemoTraffic.timeout) else {
            return -1
        }
        Socket.setNoDelay(fd)
        return fd
    }

    private enum Outcome {
        case answered(key: String, keepAlive: Bool)
        case failed
    }

    private static let request = Array("GET / HTTP/1.1\r\nHost: cutover-demo\r\nUser-Agent: cutover-demo-traffic\r\n\r\n".utf8)

    /// One request and its answer, within `timeout`.
    private func exchange(_ fd: Int32) -> Outcome {
        let deadline = MonotonicClock.now() &+ DemoTraffic.timeout
        guard (try? BlockingSocket.writeAll(fd, DemoTraffic.request, deadline: deadline)) != nil else { return .failed }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        var head = ResponseHead()
        while true {
            let n = (try? BlockingSocket.readSome(fd, into: &chunk, deadline: deadline)) ?? 0
            if n <= 0 { return .failed }
            buffer.append(contentsOf: chunk[0..<n])
            let parsed = buffer.withUnsafeBytes { raw -> HeadParseResult? in
                try? parseResponseHead(raw, requestWasHEAD: false, limits: ParseLimits(), into: &head)
            }
            guard let parsed else { return .failed }
            guard parsed == .complete else { continue }
            if head.isInformational {
                buffer.removeFirst(head.headLength)
                continue
            }
            let length: Int
            switch head.framing {
            case .none: length = 0
            case .contentLength(let value): length = Int(value)
            case .chunked, .untilClose: return .answered(key: "\(servedBy(head, buffer)) \(head.status)", keepAlive: false)
            }
            // The rest of the body, then the next request may go.
            var have = buffer.count - head.headLength
            while have < length {
                let m = (try? BlockingSocket.readSome(fd, into: &chunk, deadline: deadline)) ?? 0
                if m <= 0 { return .failed }
                have += m
            }
            return .answered(key: "\(servedBy(head, buffer)) \(head.status)", keepAlive: !head.wantsClose && have == length)
        }
    }

    private func servedBy(_ head: ResponseHead, _ bytes: [UInt8]) -> String {
        for field in head.fields {
            let name = String(decoding: bytes[field.name], as: UTF8.self)
            if name.lowercased() == "x-served-by" {
                let value = String(decoding: bytes[field.value], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                return value.isEmpty ? "proxy" : value.replacingOccurrences(of: " ", with: "_")
            }
        }
        return "proxy"
    }
}

import ControlPlane
import EventLoop
import Foundation
import HTTP1
import Logging

/// What a demo backend is told to do wrong: answer 500 to a share of requests, and wait before
/// every answer.
struct DemoFault: Sendable, Equatable, CustomStringConvertible {
    /// The share of answers that are 500, in hundredths of a percent (0...10_000).
    var errorBasisPoints: Int
    /// Added before every answer (the 500s too), in milliseconds (0...60_000).
    var delayMilliseconds: Int

    static let none = DemoFault(errorBasisPoints: 0, delayMilliseconds: 0)
    static let maximumDelayMilliseconds = 60_000

    init(errorBasisPoints: Int, delayMilliseconds: Int) {
        self.errorBasisPoints = min(max(errorBasisPoints, 0), 10_000)
        self.delayMilliseconds = min(max(delayMilliseconds, 0), DemoFault.maximumDelayMilliseconds)
    }

    /// "20", "20%", "0.5" (percent, at most two decimals, 0 to 100) → basis points.
    static func basisPoints(percent text: String) -> Int? {
        var text = Substring(text)
        if text.hasSuffix("%25") { text = text.dropLast(3) } else if text.hasSuffix("%") { text = text.dropLast() }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 3, whole.allSatisfy(\.isASCIIDigit),
              let units = Int(whole) else { return nil }
        var hundredths = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 2, fraction.allSatisfy(\.isASCIIDigit) else { return nil }
            hundredths = Int(fraction)! * (fraction.count == 1 ? 10 : 1)
        }
        let value = units * 100 + hundredths
        return value <= 10_000 ? value : nil
    }

    /// "0", "300" (milliseconds, 0 to 60000).
    static func milliseconds(_ text: String) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCIIDigit), let value = Int(text),
              value <= maximumDelayMilliseconds else { return nil }
        return value
    }

    /// "20", "0.5": the error share as a percent.
    var errorPercentText: String {
        let whole = errorBasisPoints / 100, hundredths = errorBasisPoints % 100
        if hundredths == 0 { return "\(whole)" }
        return hundredths % 10 == 0 ? "\(whole).\(hundredths / 10)" : "\(whole).\(hundredths < 10 ? "0" : "")\(hundredths)"
    }

    var description: String {
        self == .none ? "none" : "errors \(errorPercentText)%, delay \(delayMilliseconds) ms"
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// A tiny HTTP/1.1 server for `cutover demo`: it answers every request with its name ("blue"),
/// keeps connections alive, and needs nothing installed. Blocking threads: it is a demo, not the
/// data plane.
///
/// It can be told to misbehave, so a rollout has something to catch: `POST /_demo/fault?errors=20&delay_ms=300`
/// makes 20 % of its answers 500 (spread evenly: every fifth, counted from that request) and delays
/// every answer by 300 ms; `POST /_demo/fault` (no parameters) heals it; `GET /_demo/fault` shows
/// the fault as JSON. The fault path itself is never faulty or delayed.
final class DemoBackend: Sendable {
    static let faultPath = "/_demo/fault"

    let name: String
    let address: SocketAddress
    private let fd: Int32
    /// The fault, and the error accumulator that spreads its 500s: each answer adds the error
    /// share; reaching 100 % makes that answer a 500 and subtracts 100 %.
    private let state: Locked<(fault: DemoFault, accumulator: Int)>

    init(name: String, address: SocketAddress, fault: DemoFault = .none) throws(SyscallError) {
        self.name = name
        self.address = address
        state = Locked((fault, 0))
        fd = try Socket.listen(on: address, backlog: 128, reusePort: false)
        _ = fcntl(fd, F_SETFL, 0)  // blocking accept: one thread waits on it
    }

    var fault: DemoFault {
        get { state.withLock { $0.fault } }
    }

    /// Sets the fault; the error spread starts again from this request.
    func setFault(_ fault: DemoFault) {
        state.withLock { $0 = (fault, 0) }
    }

    func start() {
        LoopThread.detached(name: "demo-\(name)") { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { continue }
                LoopThread.detached(name: "demo-conn") { [self] in serve(client) }
            }
        }
    }

    /// Whether the next answer is a 500, and how long to wait before it.
    private func nextAnswer() -> (fail: Bool, delayMilliseconds: Int) {
        state.withLock { state in
            state.accumulator += state.fault.errorBasisPoints
            let fail = state.accumulator >= 10_000
            if fail { state.accumulator -= 10_000 }
            return (fail, state.fault.delayMilliseconds)
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        var buffer: [UInt8] = []
        var head = RequestHead()
        /// Body bytes of the request just answered that have still to be skipped.
        var discard = 0
        while true {
            // A keep-alive client may stay as long as it likes: a demo thread waits with it.
            let n = (try? BlockingSocket.readSome(fd, into: &chunk, deadline: BlockingSocket.noDeadline)) ?? 0
            if n <= 0 { return }
            buffer.append(contentsOf: chunk[0..<n])
            while true {
                if discard > 0 {
                    let skipped = min(discard, buffer.count)
                    buffer.removeFirst(skipped)
                    discard -= skipped
                    if discard > 0 { break }
                }
                if buffer.isEmpty { break }
                let parsed = buffer.withUnsafeBytes { raw -> Result<HeadParseResult, HTTPParseError> in
                    do throws(HTTPParseError) { return .success(try parseRequestHead(raw, limits: ParseLimits(), into: &head)) }
                    catch { return .failure(error) }
                }
                switch parsed {
                case .failure(let error):
                    _ = sendAll(fd, response(error.status, "\(error.reason)\n", close: true))
                    return
                case .success(.incomplete):
                    break
                case .success(.complete):
                    let method = String(decoding: buffer[head.method], as: UTF8.self)
                    let target = String(decoding: buffer[head.target], as: UTF8.self)
                    var close = head.wantsClose
                    switch head.framing {
                    case .contentLength(let length): discard = Int(length)
                    case .chunked, .untilClose: close = true  // the demo does not read chunked bodies
                    case .none: break
                    }
                    if head.expectContinue && discard > 0 {
                        guard sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
                    }
                    let isHEAD = head.isHEAD
                    buffer.removeFirst(head.headLength)
                    let answer = answer(method: method, target: target, isHEAD: isHEAD, close: close)
                    guard sendAll(fd, answer), !close else { return }
                    continue
                }
                break
            }
        }
    }

    private func answer(method: String, target: String, isHEAD: Bool, close: Bool) -> [UInt8] {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target
        if path == DemoBackend.faultPath {
            return faultAnswer(method: method, target: target, isHEAD: isHEAD, close: close)
        }
        let (fail, delay) = nextAnswer()
        if delay > 0 { usleep(UInt32(delay) * 1000) }
        if fail { return response(500, "\(name): injected fault\n", isHEAD: isHEAD, close: close) }
        return response(200, "\(name)\n", isHEAD: isHEAD, close: close)
    }

    /// GET shows the fault; POST (or PUT) sets it to exactly what the query says, a missing
    /// parameter meaning 0.
    private func faultAnswer(method: String, target: String, isHEAD: Bool, close: Bool) -> [UInt8] {
        switch method {
        case "GET", "HEAD":
            break
        case "POST", "PUT":
            let query = target.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
            var errors = 0, delay = 0
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(parts[0]), value = parts.count > 1 ? String(parts[1]) : ""
                switch key {
                case "errors":
                    guard let parsed = DemoFault.basisPoints(percent: value) else {
                        return response(400, "errors must be a percent from 0 to 100, like errors=20, not '\(value)'\n", close: close)
                    }
                    errors = parsed
                case "delay_ms":
                    guard let parsed = DemoFault.milliseconds(value) else {
                        return response(400, "delay_ms must be milliseconds from 0 to \(DemoFault.maximumDelayMilliseconds), like delay_ms=300, not '\(value)'\n", close: close)
                    }
                    delay = parsed
                default:
                    return response(400, "unknown parameter '\(key)': use errors=PERCENT and delay_ms=MS\n", close: close)
                }
            }
            let fault = DemoFault(errorBasisPoints: errors, delayMilliseconds: delay)
            setFault(fault)
            ProcessLog.logger.notice("demo backend \(name) \(address): fault \(fault)")
        default:
            return response(405, "use GET to see the fault, POST \(DemoBackend.faultPath)?errors=PERCENT&delay_ms=MS to set it\n",
                            extra: "Allow: GET, HEAD, POST, PUT\r\n", close: close)
        }
        let fault = self.fault
        let json = "{\"backend\":\"\(name)\",\"address\":\"\(address)\",\"errors\":\(fault.errorPercentText),\"delay_ms\":\(fault.delayMilliseconds)}\n"
        return response(200, json, contentType: "application/json", isHEAD: isHEAD, close: close)
    }

    private func response(_ status: Int, _ body: String, contentType: String = "text/plain", extra: String = "",
                          isHEAD: Bool = false, close: Bool) -> [UInt8] {
        let reason = [200: "OK", 400: "Bad Request", 405: "Method Not Allowed", 500: "Internal Server Error"][status] ?? "Error"
        let bytes = Array(body.utf8)
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\nX-Served-By: \(name)\r\n\(extra)"
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (isHEAD ? [] : bytes)
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        (try? BlockingSocket.writeAll(fd, bytes, deadline: BlockingSocket.noDeadline)) != nil
    }
}

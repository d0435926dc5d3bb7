import EventLoop
import Foundation
import HTTP1

/// One admin connection on its own blocking thread: read a head (with the same strict parser
/// as the data plane), read a small body if one is announced, answer, and go on while the client
/// keeps the connection alive. Every wait is bounded by a deadline, so a silent or trickling
/// client costs a thread for at most `requestTimeoutMs` (or `idleTimeoutMs` between requests).
struct AdminConnection {
    let fd: Int32
    let handler: @Sendable (AdminRequest) -> AdminResponse
    private var buffer: [UInt8] = []
    private var head = RequestHead()

    init(fd: Int32, handler: @escaping @Sendable (AdminRequest) -> AdminResponse) {
        self.fd = fd
        self.handler = handler
    }

    mutating func serve() {
        while true {
            guard let request = readRequest() else { return }
            let response = handler(request.request)
            guard write(response, isHEAD: head.isHEAD, close: request.close), !request.close else { return }
        }
    }

    private enum ReadOutcome { case data, closed, timedOut }

    /// The next request, or nil when the connection should end (after an error answer, if any).
    private mutating func readRequest() -> (request: AdminRequest, close: Bool)? {
        var deadline = Self.deadline(in: AdminServer.idleTimeoutMs)
        // The head.
        head: while true {
            if !buffer.isEmpty {
                let parsed = buffer.withUnsafeBytes { raw -> Result<HeadParseResult, HTTPParseError> in
                    do throws(HTTPParseError) {
                        return .success(try parseRequestHead(raw, limits: AdminServer.limits, into: &head))
                    } catch { return .failure(error) }
                }
                switch parsed {
                case .success(.complete): break head
                case .success(.incomplete): break
                case .failure(let error):
                    reject(error.status, error.reason)
                    return nil
                }
            }
            guard fill(until: deadline) == .data else { return nil }
            deadline = min(deadline, Self.deadline(in: AdminServer.requestTimeoutMs))
        }
        // The body: small, announced by Content-Length. The API reads none, but a client may
        // send one (`curl -d`), and it must be consumed to keep the connection in step.
        var bodyLength = 0
        switch head.framing {
        case .none, .untilClose: break
        case .chunked:
            reject(411, "send a Content-Length (chunked request bodies are not accepted here)")
            return nil
        case .contentLength(let length):
            guard length <= UInt64(AdminServer.maxBodyBytes) else {
                reject(413, "request body over \(AdminServer.maxBodyBytes) bytes")
                return nil
            }
            bodyLength = Int(length)
        }
        let total = head.headLength + bodyLength
        if head.expectContinue && buffer.count < total { sendAll(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) }
        while buffer.count < total {
            guard fill(until: deadline) == .data else { return nil }
        }
        let target = text(head.target)
        let request = AdminRequest(method: text(head.method), path: path(of: target),
                                   authorization: field(named: "authorization"), query: AdminQuery.parse(target))
        let close = head.wantsClose
        buffer.removeFirst(total)
        return (request, close)
    }
}

extension AdminConnection {
    /// `milliseconds` from now on the monotonic clock, as `BlockingSocket` takes deadlines.
    static func deadline(in milliseconds: Int) -> UInt64 {
        MonotonicClock.now() &+ UInt64(milliseconds) &* 1_000_000
    }

    /// Waits (at most until `deadline`) for bytes and appends them to `buffer`.
    private mutating func fill(until deadline: UInt64) -> ReadOutcome {
        var chunk = [UInt8](repeating: 0, count: 16384)
        let n: Int
        do {
            n = try BlockingSocket.readSome(fd, into: &chunk, deadline: deadline)
        } catch {
            return error == .timedOut ? .timedOut : .closed
        }
        guard n > 0 else { return .closed }
        buffer.append(contentsOf: chunk[0..<n])
        return .data
    }

    /// Writes a whole response; false if the client went away.
    private func write(_ response: AdminResponse, isHEAD: Bool, close: Bool) -> Bool {
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        head += "Content-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\n"
        head += "Cache-Control: no-store\r\n"
        for field in response.headers { head += "\(field.name): \(field.value)\r\n" }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if !isHEAD { bytes += response.body }
        return sendAll(bytes)
    }

    /// Answers a request the connection cannot go on from, with `Connection: close`.
    private func reject(_ status: Int, _ reason: String) {
        _ = write(AdminResponse(status: status, text: reason + "\n"), isHEAD: false, close: true)
    }

    /// Writes all of `bytes` within `requestTimeoutMs`; false if the client went away or does not read.
    @discardableResult
    private func sendAll(_ bytes: [UInt8]) -> Bool {
        do {
            try BlockingSocket.writeAll(fd, bytes, deadline: Self.deadline(in: AdminServer.requestTimeoutMs))
            return true
        } catch {
            return false
        }
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: buffer[range], as: UTF8.self)
    }

    private func path(of target: String) -> String {
        String(target.prefix { $0 != "?" && $0 != "#" })
    }

    /// The first field named `name` (lower-case), trimmed, or nil.
    private func field(named name: String) -> String? {
        for field in head.fields where text(field.name).lowercased() == name {
            return text(field.value).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// Reason phrases for the statuses only the admin API answers; the HTTP1 table for the rest.
    static func reason(_ status: Int) -> String {
        switch status {
        case 401: "Unauthorized"
        case 411: "Length Required"
        case 422: "Unprocessable Content"
        default: "\(reasonPhrase(status))"
        }
    }
}

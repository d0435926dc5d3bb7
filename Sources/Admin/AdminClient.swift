import Config
import EventLoop
import Foundation
import HTTP1

/// The admin API could not be used: nothing listens there, the connection broke, or the answer
/// was not HTTP. (An answer with any status, even 4xx, is not this error.)
public struct AdminUnreachable: Error, Sendable, CustomStringConvertible {
    public var description: String

    package init(description: String) {
        self.description = description
    }
}

/// A response from the admin API.
public struct AdminAnswer: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A one-shot blocking HTTP/1.1 client for the commands that talk to a running proxy
/// (`cutover reload`, `cutover status`): one request with `Connection: close`, the answer read
/// to the end. A command-line tool waits anyway, so blocking sockets keep it short and free of
/// dependencies.
public enum AdminClient {
    public static func request(_ method: String, _ path: String, to admin: HostPort, token: String?,
                               timeoutSeconds: Int) throws(AdminUnreachable) -> AdminAnswer {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(admin)\r\nUser-Agent: cutover\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if method == "POST" { head += "Content-Length: 0\r\n" }
        head += "Connection: close\r\n\r\n"
        return try exchange(Array(head.utf8), to: admin, timeoutSeconds: timeoutSeconds)
    }

    /// Sends `request` (a whole HTTP/1.1 request with `Connection: close`) and reads the answer to
    /// its end. `what` names the server in errors ("the admin API", "the webhook").
    package static func exchange(_ request: [UInt8], to admin: HostPort, timeoutSeconds: Int,
                         what: String = "the admin API") throws(AdminUnreachable) -> AdminAnswer {
        let deadline = MonotonicClock.now() &+ UInt64(max(0, timeoutSeconds)) &* 1_000_000_000
        guard let address = SocketAddress.resolve(host: admin.host, port: admin.port) else {
            throw AdminUnreachable(description: "cannot resolve the address of \(what) \(admin)")
        }
        let fd: Int32
        do {
            // A deadline on the connect too: a filtered port would otherwise hang for minutes.
            fd = try BlockingSocket.connect(to: address, deadline: deadline)
        } catch {
            throw AdminUnreachable(description: "cannot connect to the admin API at \(admin): \(error)")
        }
        defer { close(fd) }
        do {
            try BlockingSocket.writeAll(fd, request, deadline: deadline)
        } catch {
            throw AdminUnreachable(description: "sending to \(what) at \(admin) failed: \(error)")
        }
        return try parse(readToEnd(fd, admin, deadline: deadline), from: admin)
    }

    private static func readToEnd(_ fd: Int32, _ admin: HostPort, deadline: UInt64) throws(AdminUnreachable) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n: Int
            do {
                n = try BlockingSocket.readSome(fd, into: &chunk, deadline: deadline)
            } catch {
                switch error {
                case .timedOut:
                    throw AdminUnreachable(description: "no answer from the admin API at \(admin) in time")
                case .failed:
                    // A reset after a complete answer is still an answer.
                    if !bytes.isEmpty { return bytes }
                    throw AdminUnreachable(description: "the admin API at \(admin) closed the connection: \(error)")
                }
            }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }

    private static func parse(_ bytes: [UInt8], from admin: HostPort) throws(AdminUnreachable) -> AdminAnswer {
        var head = ResponseHead()
        let parsed = bytes.withUnsafeBytes { raw -> HeadParseResult? in
            try? parseResponseHead(raw, requestWasHEAD: false, limits: ParseLimits(maxHeaderBytes: 65536), into: &head)
        }
        guard parsed == .complete else {
            throw AdminUnreachable(description: "the admin API at \(admin) did not answer HTTP (\(bytes.count) bytes)")
        }
        var body = Array(bytes[head.headLength...])
        if case .contentLength(let length) = head.framing, length < UInt64(body.count) { body = Array(body.prefix(Int(length))) }
        if case .none = head.framing { body = [] }
        return AdminAnswer(status: head.status, body: body)
    }
}

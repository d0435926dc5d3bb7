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
        let deadline = Date().addingTimeInterval(TimeInterval(timeoutSeconds))
        guard let address = SocketAddress.resolve(host: admin.host, port: admin.port) else {
            throw AdminUnreachable(description: "cannot resolve the address of \(what) \(admin)")
        }
        let fd = try connect(address, admin, deadline: deadline)
        defer { close(fd) }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw AdminUnreachable(description: "sending to \(what) at \(admin) failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
        return try parse(readToEnd(fd, admin, deadline: deadline), from: admin)
    }

    /// A blocking connect that gives up at `deadline` (a filtered port would otherwise hang for
    /// minutes).
    private static func connect(_ address: SocketAddress, _ admin: HostPort, deadline: Date) throws(AdminUnreachable) -> Int32 {
        let connection: (fd: Int32, connected: Bool)
        do {
            connection = try Socket.connect(to: address)
        } catch {
            throw AdminUnreachable(description: "cannot connect to the admin API at \(admin): \(error)")
        }
        let fd = connection.fd
        if !connection.connected {
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds(until: deadline))
            let failure = ready <= 0 ? ETIMEDOUT : Socket.pendingError(fd)
            if failure != 0 {
                close(fd)
                throw AdminUnreachable(description: "cannot connect to the admin API at \(admin): \(String(cString: strerror(failure)))")
            }
        }
        _ = fcntl(fd, F_SETFL, 0)
        return fd
    }

    private static func readToEnd(_ fd: Int32, _ admin: HostPort, deadline: Date) throws(AdminUnreachable) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds(until: deadline))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { throw AdminUnreachable(description: "no answer from the admin API at \(admin) in time") }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return bytes }
            if n < 0 {
                if errno == EINTR { continue }
                // A reset after a complete answer is still an answer.
                if !bytes.isEmpty { return bytes }
                throw AdminUnreachable(description: "the admin API at \(admin) closed the connection: \(String(cString: strerror(errno)))")
            }
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

    private static func milliseconds(until deadline: Date) -> Int32 {
        Int32(clamping: max(0, Int(deadline.timeIntervalSinceNow * 1000)))
    }
}

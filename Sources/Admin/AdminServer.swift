import Config
import EventLoop
import Foundation
import HTTP1

/// A request to the admin API, as far as the API looks at it.
package struct AdminRequest: Sendable {
    var method: String
    /// The target without its query.
    var path: String
    var authorization: String?
    /// The query's `name=value` pairs, percent-decoded (`?pool=green&now=1`).
    var query: [String: String] = [:]
}

package struct AdminResponse: Sendable {
    var status: Int
    var contentType = "text/plain; charset=utf-8"
    var body: [UInt8]
    var headers: [(name: String, value: String)] = []

    init(status: Int, text: String) {
        self.status = status
        body = Array(text.utf8)
    }

    init(status: Int, json: [UInt8]) {
        self.status = status
        contentType = "application/json"
        body = json
    }
}

/// The admin API's listener: a blocking accept loop on a thread of its own and one thread per
/// connection, never a data-plane worker, so a burst of admin calls (or a slow `POST /reload`)
/// cannot delay proxied traffic, and a stuck data plane cannot hide itself from `/status`.
/// Threads are cheap at admin volumes; the connection cap and the per-request deadline bound
/// what a misbehaving client can hold.
package final class AdminServer: Sendable {
    static let maxConnections = 32
    static let maxBodyBytes = 64 * 1024
    static let limits = ParseLimits(maxHeaderBytes: 16384, maxTargetBytes: 4096, maxFields: 64)
    /// A request must arrive whole within this, once its first byte has.
    static let requestTimeoutMs = 10_000
    /// A keep-alive connection with no request for this long is closed.
    static let idleTimeoutMs = 30_000

    package let listen: HostPort
    /// The listening socket (handed to a new binary by an upgrade).
    package let fd: Int32
    private let open = Locked(0)
    /// Connections being served now.
    package var openConnections: Int { open.withLock { $0 } }
    /// Written once to make the accept thread return (an upgrade handed the socket over: the
    /// old process must stop taking connections from the queue it shares with the new one).
    private let stopPipe: (read: Int32, write: Int32)

    /// Binds `admin.listen`; an error names the config line, as a listener's does.
    package init(_ admin: AdminConfig) throws(ConfigError) {
        guard let address = SocketAddress.resolve(host: admin.listen.host, port: admin.listen.port) else {
            throw ConfigError(admin.location, "admin: cannot resolve '\(admin.listen)'")
        }
        do {
            fd = try Socket.listen(on: address, backlog: 64, reusePort: false)
        } catch {
            throw ConfigError(admin.location, "admin: cannot listen on \(admin.listen): \(error)")
        }
        listen = admin.listen
        stopPipe = AdminServer.makePipe()
    }

    /// Takes over a listening socket an upgrading process handed down (see `InheritedSockets`).
    package init(adopting fd: Int32, listen: HostPort) {
        self.fd = fd
        self.listen = listen
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        stopPipe = AdminServer.makePipe()
    }

    private static func makePipe() -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// The accept thread returns; connections already accepted are served to their end. The
    /// socket stays open (the new process has it too).
    package func stopAccepting() {
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
    }

    /// Closes the socket of a server that was bound but will not start (start-up failed later).
    package func discard() { close(fd) }

    package func start(_ handler: @escaping @Sendable (AdminRequest) -> AdminResponse) {
        // Foundation threads are detached: a finished connection thread leaves nothing to join.
        let acceptor = Thread { [self] in
            while true {
                // poll, not a blocking accept: the loop must be able to stop (`stopAccepting`),
                // and another process sharing the socket may take a connection first (EAGAIN).
                var watched = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0)]
                if poll(&watched, 2, -1) < 0 { continue }
                if watched[1].revents != 0 { return }
                let client = accept(fd, nil, nil)
                if client < 0 {
                    // EMFILE and friends: back off instead of spinning on the same error.
                    if errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK { usleep(10_000) }
                    continue
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                _ = fcntl(client, F_SETFL, 0)  // the connection thread reads and writes blocking
                let admitted = open.withLock { count in
                    guard count < Self.maxConnections else { return false }
                    count += 1
                    return true
                }
                guard admitted else {
                    let busy = Array("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                    _ = busy.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                    close(client)
                    continue
                }
                let connection = Thread { [self] in
                    var session = AdminConnection(fd: client, handler: handler)
                    session.serve()
                    close(client)
                    open.withLock { $0 -= 1 }
                }
                connection.name = "cutover-admin-c"
                connection.start()
            }
        }
        acceptor.name = "cutover-admin"
        acceptor.start()
    }
}

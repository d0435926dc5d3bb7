import CLinux
import Config
import EventLoop
import Foundation

/// The listening sockets an upgrading process hands to the new binary, by inheritance (the
/// descriptors stay open across `posix_spawn`) and named in one environment variable:
///
///     CUTOVER_UPGRADE_SOCKETS=admin=7;web=8,9;web-tls=10,11
///
/// `admin` is the admin API's socket; every other entry is a listener by name with one socket
/// per worker of the old process. The new process takes a listener's sockets only when its
/// config has a listener of that name whose address is the one the socket is bound to
/// (getsockname), so a renamed or moved listener is bound afresh instead.
struct InheritedSockets {
    static let variable = "CUTOVER_UPGRADE_SOCKETS"

    private(set) var admin: Int32?
    private(set) var listeners: [String: [Int32]]

    init(admin: Int32?, listeners: [String: [Int32]]) {
        self.admin = admin
        self.listeners = listeners
    }

    /// From the environment; nil when this process was not started by an upgrade.
    static func fromEnvironment() -> InheritedSockets? {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return nil }
        var sockets = InheritedSockets(admin: nil, listeners: [:])
        for entry in text.split(separator: ";") {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            let fds = parts[1].split(separator: ",").compactMap { Int32($0) }
            if parts[0] == "admin" { sockets.admin = fds.first } else { sockets.listeners[parts[0]] = fds }
        }
        return sockets
    }

    var environmentValue: String {
        var entries: [String] = []
        if let admin { entries.append("admin=\(admin)") }
        for (name, fds) in listeners.sorted(by: { $0.key < $1.key }) {
            entries.append("\(name)=\(fds.map(String.init).joined(separator: ","))")
        }
        return entries.joined(separator: ";")
    }

    var all: [Int32] { (admin.map { [$0] } ?? []) + listeners.values.flatMap { $0 } }

    /// The sockets of `listener` when they are bound to its address; removed from the set.
    mutating func take(_ listener: ListenerConfig) -> [Int32]? {
        guard let fds = listeners[listener.name], let first = fds.first,
              InheritedSockets.isBound(first, to: listener.listen) else { return nil }
        listeners[listener.name] = nil
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fds
    }

    mutating func takeAdmin(_ config: AdminConfig) -> Int32? {
        guard let fd = admin, InheritedSockets.isBound(fd, to: config.listen) else { return nil }
        admin = nil
        return fd
    }

    /// Whether `fd` is a listening socket bound to `address` (port and address compared).
    static func isBound(_ fd: Int32, to address: HostPort) -> Bool {
        guard let wanted = SocketAddress.resolve(host: address.host, port: address.port),
              let bound = Socket.localAddress(fd) else { return false }
        // Compared as text: the two structures may differ in padding bytes.
        return bound.description == wanted.description
    }
}

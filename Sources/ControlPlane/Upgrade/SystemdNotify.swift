import EventLoop
import Foundation

/// sd_notify(3) without libsystemd: one datagram per message to `$NOTIFY_SOCKET` (a path, or an
/// abstract name when it starts with `@`). Does nothing when the variable is unset (not under
/// systemd). Used for `Type=notify-reload`: READY=1, RELOADING=1 + MONOTONIC_USEC around a
/// reload, STOPPING=1, and MAINPID= when an upgrade hands over to a new process.
enum SystemdNotify {
    static func send(_ message: String) {
        guard let path = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !path.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let payload = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                payload.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
    }

    /// `RELOADING=1` needs the monotonic time of the reload's start, in microseconds.
    static func reloading() {
        // MonotonicClock reads CLOCK_MONOTONIC (a `timespec` here trips MemberImportVisibility in
        // some builds: Foundation's CoreFoundation claims the struct).
        send("RELOADING=1\nMONOTONIC_USEC=\(MonotonicClock.now() / 1_000)")
    }
}

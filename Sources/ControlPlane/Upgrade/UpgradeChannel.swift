import Foundation

/// The line protocol between an upgrading process and the new binary, over a socketpair whose
/// child end is inherited (`CUTOVER_UPGRADE_CHANNEL=FD`):
///
///     child → parent   READY <pid>        config loaded, workers running, not accepting yet
///                      ERROR <reason>     cannot start (then it exits)
///     parent → child   GO                 the parent stops accepting; the child starts
///
/// A child that sees the channel close before GO exits: the old process still serves.
struct UpgradeChannel {
    static let variable = "CUTOVER_UPGRADE_CHANNEL"
    let fd: Int32

    func send(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            sent += n
        }
    }

    /// One line, or nil on EOF, error or when `timeoutMs` (-1: none) passes first.
    func receive(timeoutMs: Int32) -> String? {
        var line: [UInt8] = []
        let deadline = timeoutMs < 0 ? nil : Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while true {
            var watched = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = deadline.map { Int32(max(0, $0.timeIntervalSinceNow * 1000)) } ?? -1
            let ready = poll(&watched, 1, wait)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            var byte: UInt8 = 0
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            guard n == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
            if line.count > 4096 { return nil }
        }
    }
}

/// For the command line: a process started by an upgrade that cannot start says why to the old
/// process (which then serves on and reports it), before it exits.
public enum UpgradeReport {
    public static func failed(_ reason: String) {
        guard let fd = ProcessInfo.processInfo.environment[UpgradeChannel.variable].flatMap(Int32.init) else { return }
        UpgradeChannel(fd: fd).send("ERROR " + reason.replacingOccurrences(of: "\n", with: " "))
    }
}

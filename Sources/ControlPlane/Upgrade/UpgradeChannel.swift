import EventLoop
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

    /// Best effort: a peer gone away loses the line.
    func send(_ line: String) {
        try? BlockingSocket.writeAll(fd, Array((line + "\n").utf8), deadline: BlockingSocket.noDeadline)
    }

    /// One line, or nil on EOF, error or when `timeoutMs` (-1: none) passes first.
    func receive(timeoutMs: Int32) -> String? {
        var line: [UInt8] = []
        let deadline = timeoutMs < 0 ? BlockingSocket.noDeadline : MonotonicClock.now() &+ UInt64(timeoutMs) &* 1_000_000
        var one: [UInt8] = [0]
        while true {
            // One byte at a time: nothing after the line may be taken from the socket.
            guard (try? BlockingSocket.readSome(fd, into: &one, deadline: deadline)) == 1 else { return nil }
            let byte = one[0]
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

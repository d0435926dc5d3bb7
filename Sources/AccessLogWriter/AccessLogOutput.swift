import Config
import DataPlane
import EventLoop
import Glibc

/// One destination of the access log (stdout or a file) and the rings that feed it, one per
/// worker. A reload that moves the log makes a new output with new rings; the old one is drained
/// one last time and closed once every worker writes to the new one, so each line lands in the
/// destination that was configured when its request ended.
package final class AccessLogOutput: @unchecked Sendable {
    package let destination: AccessLogConfig
    let rings: [ByteRing]
    /// Written to by the writer thread only (and by whoever made the output, before it is added).
    var fd: Int32

    /// Per worker: 1 MiB, about 4,000 lines; the writer drains every 100 ms, or when a ring is
    /// half full. What still does not fit is dropped and counted, never waited for.
    static let ringCapacity = 1 << 20

    private init(destination: AccessLogConfig, fd: Int32, workers: Int) {
        self.destination = destination
        self.fd = fd
        rings = (0..<workers).map { _ in ByteRing(capacity: AccessLogOutput.ringCapacity) }
    }

    /// Opens the destination of `config` (nil for `off`). Throws the reason a file cannot be opened.
    package static func open(_ config: AccessLogConfig, workers: Int) throws(AccessLogOpenError) -> AccessLogOutput? {
        switch config {
        case .off: return nil
        case .stdout: return AccessLogOutput(destination: config, fd: STDOUT_FILENO, workers: workers)
        case .file(let path): return AccessLogOutput(destination: config, fd: try openFile(path), workers: workers)
        }
    }

    /// Appends (never truncates), creates the file if missing (0640: client addresses are
    /// personal data), and is not inherited by child processes.
    static func openFile(_ path: String) throws(AccessLogOpenError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw AccessLogOpenError(path: path, errno: errno) }
        return fd
    }

    package var path: String? {
        if case .file(let path) = destination { return path }
        return nil
    }

    /// What worker `index` is told to write to.
    package func target(for index: Int, wake: WakeEvent) -> AccessLogTarget {
        AccessLogTarget(ring: rings[index], wake: wake)
    }

    /// Lines refused by this output's rings because they were full.
    var refused: UInt64 { rings.reduce(0) { $0 &+ $1.refused } }

    /// Closes the file (stdout stays open).
    package func closeFile() {
        if path != nil && fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// An access log file that cannot be opened, and why.
package struct AccessLogOpenError: Error, CustomStringConvertible {
    let path: String
    let errno: Int32
    package var description: String { "access_log: cannot open \(path): \(String(cString: strerror(errno)))" }
}

import Foundation

/// The process's own log lines on stderr (the access log is separate). Timestamps in UTC.
public enum Log {
    nonisolated(unsafe) public static var verbose = false

    public static func info(_ message: String) { write("info", message) }
    public static func warning(_ message: String) { write("warning", message) }
    public static func error(_ message: String) { write("error", message) }
    public static func debug(_ message: String) { if verbose { write("debug", message) } }

    private static func write(_ level: String, _ message: String) {
        let stamp = Date().formatted(.iso8601)
        FileHandle.standardError.write(Data("\(stamp) \(level) \(message)\n".utf8))
    }
}

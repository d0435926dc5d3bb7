import Logging

/// The process's own log (start, reloads, health changes, drains, shutdown, errors), through
/// swift-log, on stderr. The access log is separate (`AccessLogWriter`). Never used on a worker
/// thread: the data plane does not log.
let log = Logger(label: "cutover")

public enum ProcessLog {
    /// For the executable's own lines about the process (start-up failures, config warnings).
    public static var logger: Logger { log }

    /// Installs the stderr handler at `level`; once, before the first line is logged (`run` and
    /// `demo` call it first thing). Without it, swift-log's default handler is used (tests).
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level) }
    }

    /// `--log-level`, else `CUTOVER_LOG_LEVEL`, else info. Nil for a name that is not a level.
    public static func level(option: String?, environment: [String: String]) -> Logger.Level? {
        guard let name = option ?? environment["CUTOVER_LOG_LEVEL"] else { return .info }
        return Logger.Level(rawValue: name.lowercased())
    }

    public static let levelNames = Logger.Level.allCases.map(\.rawValue)
}

import ArgumentParser
import ControlPlane
import Foundation
import Logging

/// `--log-level` (and `--verbose`) of the commands that run the proxy.
struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"),
            help: "Process log level: \(ProcessLog.levelNames.joined(separator: ", ")) (default: $CUTOVER_LOG_LEVEL, else info).")
    var level: String?

    @Flag(help: "Same as --log-level debug.")
    var verbose = false

    func validate() throws {
        if ProcessLog.level(option: level, environment: ProcessInfo.processInfo.environment) == nil {
            let given = level ?? ProcessInfo.processInfo.environment["CUTOVER_LOG_LEVEL"] ?? ""
            throw ValidationError("unknown log level '\(given)': use one of \(ProcessLog.levelNames.joined(separator: ", "))")
        }
    }

    /// Installs the process log at the chosen level; first thing a proxy-running command does.
    func bootstrap() {
        let chosen = ProcessLog.level(option: level, environment: ProcessInfo.processInfo.environment) ?? .info
        ProcessLog.bootstrap(level: verbose ? min(chosen, .debug) : chosen)
    }
}

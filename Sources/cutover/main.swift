import ArgumentParser
import Config
import ControlPlane
import EventLoop
import Foundation
import Logging

/// The entry point is the call at the end of this file rather than `@main`: the target has more
/// than one source file, and SwiftPM then compiles main.swift as top-level code.
struct Cutover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A reverse proxy and traffic splitter for zero-downtime blue/green deployments.",
        version: CutoverVersion.string,
        subcommands: [Run.self, Check.self, Reload.self, Status.self, Switch.self, RolloutCommand.self, BackendCommand.self, RollCommand.self, UpgradeCommand.self, FleetCommand.self, Demo.self])
}

/// Loads a config file, or prints `FILE:LINE:COLUMN: message` and exits 1. Warnings go to `warn`
/// (stderr for `check`; the process log for the commands that run the proxy).
func loadOrExit(_ file: String, warn: (String) -> Void = { printError($0) }) -> CutoverConfig {
    let config: CutoverConfig
    do {
        config = try ConfigLoader.load(file: file)
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        UpgradeReport.failed("\(error)")
        Foundation.exit(1)
    }
    let review = FeatureGate.review(config)
    for warning in review.warnings { warn("\(file): warning: \(warning)") }
    if !review.errors.isEmpty {
        for error in review.errors { FileHandle.standardError.write(Data("\(error)\n".utf8)) }
        UpgradeReport.failed(review.errors.map { "\($0)" }.joined(separator: "; "))
        Foundation.exit(1)
    }
    return config
}

func runProxy(file: String, config: CutoverConfig, before: () -> Void = {}) -> Never {
    let proxy = Proxy(configFile: file, config: config)
    do {
        try proxy.start()
    } catch {
        ProcessLog.logger.critical("cannot start: \(error)")
        UpgradeReport.failed("cannot start: \(error)")
        Foundation.exit(1)
    }
    before()
    proxy.runUntilStopped()
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the proxy in the foreground.")

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config = "conf/cutover.yaml"

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        runProxy(file: config, config: loadOrExit(config, warn: { ProcessLog.logger.warning("\($0)") }))
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate a configuration and print its plan.")

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config = "conf/cutover.yaml"

    func run() throws {
        let loaded = loadOrExit(config)
        print(describePlan(loaded), terminator: "")
        for warning in loaded.warnings { printError(warning.description) }
        print("\(config): OK")
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data("\(line)\n".utf8))
}

Cutover.main()

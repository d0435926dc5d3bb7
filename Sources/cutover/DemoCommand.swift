import ArgumentParser
import Config
import ControlPlane
import EventLoop
import Foundation
import Logging

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a demo: the proxy on 127.0.0.1:8080 with its admin API, two built-in backends (blue, green) and steady traffic.",
        discussion: """
        Prints a walkthrough to try from another terminal: cutover status, cutover switch, a healthy \
        rollout promoted, a failing one rolled back. Without -c, the demo runs a fresh copy of \
        conf/demo.yaml (or of the embedded configuration outside a checkout) in a temporary \
        directory, so the walkthrough's edits never touch the checkout; it is removed on exit.
        Each built-in backend can be told to fail: POST http://BACKEND/_demo/fault?errors=PERCENT&delay_ms=MS \
        (no parameters: heal; GET: show).
        """)

    @Option(name: .shortAndLong, help: "Run this configuration file itself (default: a temporary copy of conf/demo.yaml if present, else of the embedded one).")
    var config: String?

    @Flag(help: "Print the embedded demo configuration and exit.")
    var printConfig = false

    @Option(name: .customLong("fail"), help: ArgumentHelp("Start POOL's backends answering 500 to PERCENT % of requests (repeatable).", valueName: "POOL=PERCENT"))
    var failures: [String] = []

    @Option(name: .customLong("delay"), help: ArgumentHelp("Start POOL's backends waiting MS milliseconds before every answer (repeatable).", valueName: "POOL=MS"))
    var delays: [String] = []

    @Option(help: ArgumentHelp("Requests per second the demo sends through its listener, so a rollout has traffic to judge (0: none).", valueName: "RPS"))
    var traffic = 100

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (0...10_000).contains(traffic) else { throw ValidationError("--traffic must be 0 to 10000 requests per second, not \(traffic)") }
        _ = try faults(pools: nil)
    }

    func run() throws {
        if printConfig {
            print(DemoConfig.yaml, terminator: "")
            return
        }
        logging.bootstrap()
        let (file, source) = try config.map { ($0, $0) } ?? demoConfigFile()
        let loaded = loadOrExit(file, warn: { ProcessLog.logger.warning("\($0)") })
        let faults = try faults(pools: Set(loaded.pools.map(\.name)))
        for pool in loaded.pools {
            for backend in pool.backends {
                guard let address = SocketAddress.resolve(host: backend.address.host, port: backend.address.port) else { continue }
                do {
                    let demo = try DemoBackend(name: pool.name, address: address, fault: faults[pool.name] ?? .none)
                    demo.start()
                    if demo.fault != .none { ProcessLog.logger.notice("demo backend \(pool.name) \(address): fault \(demo.fault)") }
                } catch {
                    ProcessLog.logger.critical("demo backend \(pool.name) on \(backend.address): \(error)")
                    Foundation.exit(1)
                }
            }
        }
        let listener = loaded.listeners.first { $0.proto == .http && $0.tls == nil }
        let target = listener.flatMap { SocketAddress.resolve(host: $0.listen.host, port: $0.listen.port) }
        runProxy(file: file, config: loaded) {
            if traffic > 0, let target {
                DemoTraffic(target: target, rate: traffic).start(summaryEvery: 10)
            }
            print(DemoWalkthrough(config: loaded, file: file, source: source, cutover: Demo.cutoverCommand(),
                                  traffic: target == nil ? 0 : traffic).text)
            fflush(nil)  // the banner must show even when stdout is a pipe
        }
    }

    /// `--fail` and `--delay` by pool; the pool names are checked when `pools` is given.
    private func faults(pools: Set<String>?) throws -> [String: DemoFault] {
        var faults: [String: DemoFault] = [:]
        func parse(_ item: String, option: String, what: String) throws -> (pool: String, value: String) {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("\(option) must be POOL=\(what), not '\(item)'") }
            if let pools, !pools.contains(parts[0]) {
                throw ValidationError("\(option) \(item): no pool '\(parts[0])' (pools: \(pools.sorted().joined(separator: ", ")))")
            }
            return (parts[0], parts[1])
        }
        for item in failures {
            let (pool, value) = try parse(item, option: "--fail", what: "PERCENT")
            guard let points = DemoFault.basisPoints(percent: value) else {
                throw ValidationError("--fail \(item): PERCENT must be 0 to 100, like 20 or 2.5")
            }
            faults[pool, default: .none].errorBasisPoints = points
        }
        for item in delays {
            let (pool, value) = try parse(item, option: "--delay", what: "MS")
            guard let milliseconds = DemoFault.milliseconds(value) else {
                throw ValidationError("--delay \(item): MS must be 0 to \(DemoFault.maximumDelayMilliseconds) milliseconds")
            }
            faults[pool, default: .none].delayMilliseconds = milliseconds
        }
        return faults
    }

    /// A fresh copy of conf/demo.yaml (from a checkout), else of the embedded configuration, in
    /// a new temporary directory removed at exit: `cutover switch` and rollouts rewrite the file
    /// (and keep state next to it), which must not dirty the checkout or outlive the demo.
    private func demoConfigFile() throws -> (file: String, source: String) {
        let checkout = "conf/demo.yaml"
        let fromCheckout = FileManager.default.fileExists(atPath: checkout)
        let text: Data
        do {
            text = fromCheckout ? try Data(contentsOf: URL(fileURLWithPath: checkout)) : Data(DemoConfig.yaml.utf8)
        } catch {
            throw ValidationError("cannot read \(checkout): \(error.localizedDescription)")
        }
        var template = Array((NSTemporaryDirectory() + "/cutover-demo.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw ValidationError("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let directory = URL(fileURLWithPath: String(cString: made)).standardizedFileURL.path
        demoDirectory = directory
        atexit { if let directory = demoDirectory { try? FileManager.default.removeItem(atPath: directory) } }
        let file = directory + "/demo.yaml"
        guard FileManager.default.createFile(atPath: file, contents: text) else {
            throw ValidationError("cannot write \(file)")
        }
        return (file, fromCheckout ? "a copy of \(checkout)" : "the embedded configuration")
    }

    /// How to run this same binary from another terminal in this directory: `cutover` when that
    /// is what PATH finds, else its path (relative when under this directory).
    static func cutoverCommand() -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for folder in path.split(separator: ":") where !folder.isEmpty {
            if let found = realpath("\(folder)/cutover", nil) {
                defer { free(found) }
                if String(cString: found) == exe { return "cutover" }
            }
        }
        // In a checkout, SwiftPM's short link to the build folder reads better than the triple.
        for link in [".build/debug/cutover", ".build/release/cutover"] {
            if let found = realpath(link, nil) {
                defer { free(found) }
                if String(cString: found) == exe { return link }
            }
        }
        let here = FileManager.default.currentDirectoryPath
        if exe.hasPrefix(here + "/") { return shellQuoted(String(exe.dropFirst(here.count + 1))) }
        return shellQuoted(exe)
    }
}

/// The demo's temporary directory, removed by the `atexit` handler (which cannot capture).
nonisolated(unsafe) private var demoDirectory: String?

/// `text` as one shell word.
func shellQuoted(_ text: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,")
    if !text.isEmpty && text.allSatisfy(safe.contains) { return text }
    return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// What `cutover demo` prints once it runs: where everything is, and the walkthrough, every
/// command ready to paste into another terminal.
struct DemoWalkthrough {
    let config: CutoverConfig
    let file: String
    /// Where the file came from, e.g. "a copy of conf/demo.yaml".
    let source: String
    let cutover: String
    let traffic: Int

    var text: String {
        let listener = config.listeners.first { $0.proto == .http && $0.tls == nil } ?? config.listeners.first
        let listen = listener?.listen.description ?? "127.0.0.1:8080"
        let route = listener.flatMap { config.route(named: $0.route) }
        let backends = config.pools.map { "\($0.name) on \($0.backends.map(\.address.description).joined(separator: ", "))" }
        var lines = [
            "cutover demo is running (pid \(getpid())): proxy on \(listen)"
                + (config.admin.map { ", admin API on \($0.listen)" } ?? " (no admin API: this file has no admin section)"),
            "  backends (built in, each answers its name): \(backends.joined(separator: "; "))",
            "  traffic: " + (traffic > 0 ? "\(traffic) requests/s through \(listen), a summary every 10 s below" : "none (--traffic 0)"),
            "  config: \(file)" + (source == file ? "" : " (\(source), removed on exit)"),
            "",
        ]
        let c = "-c \(shellQuoted(file))"
        // The walkthrough needs the admin API and a route with two pools: the live one and a standby.
        guard config.admin != nil, let route, route.pools.count >= 2 else {
            lines += ["Try:", "  curl http://\(listen)/", "  Ctrl-C                                 # stops cleanly"]
            return lines.joined(separator: "\n")
        }
        let live = route.pools.max { $0.weight < $1.weight }!.name
        let standby = route.pools.first { $0.name != live }!.name
        let liveBackend = config.pool(named: live)?.backends.first?.address.description ?? "BACKEND"
        let fault = "http://\(liveBackend)\(DemoBackend.faultPath)"
        let app = route.name
        lines += [
            "Walkthrough: paste these into another terminal in this directory.",
            "",
            "  # 1. What runs: routes, the split in effect, backends and their answers",
            "  \(cutover) status \(c)",
            "",
            "  # 2. Blue/green: send every new request to \(standby) (checked, smoke-tested, verified), then back",
            "  \(cutover) switch \(app) \(standby) \(c)",
            "  curl -s http://\(listen)/                       # \(standby)",
            "  \(cutover) switch \(app) \(live) \(c)",
            "",
            "  # 3. A healthy release: \(standby) as a canary, promoted step by step while the traffic is judged",
            "  \(cutover) rollout start \(app) \(standby) --wait \(c)",
            "",
            "  # 4. A bad release: \(live), now the standby, fails 20 % of its requests; its canary is rolled back",
            "  curl -X POST '\(fault)?errors=20'",
            "  \(cutover) rollout start \(app) \(live) --wait \(c)",
            "  \(cutover) status \(c)",
            "  curl -X POST \(fault)                # heal it (GET shows the fault; delay_ms=300 slows it)",
            "",
            "  Ctrl-C here stops the demo cleanly.",
        ]
        return lines.joined(separator: "\n")
    }
}

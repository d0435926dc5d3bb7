import Admin
import ArgumentParser
import Config
import ControlPlane
import EventLoop
import Foundation

/// `cutover switch ROUTE POOL`: the blue/green playbook as one command.
///
/// Every step that can fail runs before the file is touched where it can (file, pool health,
/// smoke test, the rewrite checked by re-parsing), and every step after the write undoes it on
/// failure, so the command's promise holds: switched and verified, or the file as it was.
struct Switch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send all new requests of ROUTE to POOL: check, smoke-test, rewrite the file, reload, verify.",
        discussion: """
        Checks that POOL has a healthy backend (GET /status), smoke-tests it through the proxy's own \
        listener with the route's override header, sets ROUTE's split in FILE to POOL 100 and every \
        other pool 0 (comments and layout kept), reloads (POST /reload) and waits until /status shows \
        the new effective split (at most the ramp plus 10 s). On any failure after the write, FILE is \
        restored byte for byte (and reloaded again when the new split had been applied).
        FILE (-c) must be the file the running proxy reads.
        Exit status: 0 switched and verified; 1 refused or failed (the reason is printed, FILE is as it \
        was); 2 the admin API could not be reached or refused the token (FILE is as it was).
        """)

    @Argument(help: "The route to switch.")
    var route: String

    @Argument(help: "The pool that gets all new requests.")
    var pool: String

    @OptionGroup var options: AdminOptions

    @Option(help: "Move from the old split to the new one over this time (sets the route's ramp), e.g. 30s.")
    var ramp: String?

    @Option(help: "The path the smoke test GETs from POOL through the proxy.")
    var smokePath = "/"

    @Flag(help: "Skip the smoke test (a route without override: cannot have one).")
    var noSmokeTest = false

    @Option(help: "With cluster: set, how long to wait until every instance of the fleet reports the new generation, e.g. 30s.")
    var timeout = "30s"

    func validate() throws {
        if Config.Duration(parsing: timeout) == nil {
            throw ValidationError("--timeout must be a duration like 30s or 2m, not '\(timeout)'")
        }
        if let ramp, Config.Duration(parsing: ramp) == nil {
            throw ValidationError("--ramp must be a duration like 30s or 2m, not '\(ramp)'")
        }
        if !smokePath.hasPrefix("/") || smokePath.contains(where: { $0.isWhitespace || $0.isNewline }) {
            throw ValidationError("--smoke-path must be a request target like /healthz, not '\(smokePath)'")
        }
    }

    func run() throws {
        do {
            try SwitchRun(command: self).perform()
        } catch {
            fflush(nil)  // the steps that passed come before the reason, also in a shared log
            FileHandle.standardError.write(Data("cutover: switch \(route) to \(pool) failed: \(error.message)\n".utf8))
            throw ExitCode(error.code)
        }
    }
}

/// Why the switch stopped, and the exit status that says so.
struct SwitchFailure: Error {
    var code: Int32
    var message: String
    static func refused(_ message: String) -> SwitchFailure { SwitchFailure(code: AdminExit.rejected, message: message) }
}

/// One run of `cutover switch`, step by step.
struct SwitchRun {
    let command: Switch
    var file: String { command.options.config }

    func perform() throws(SwitchFailure) {
        let original: [UInt8]
        do { original = try ConfigFile.read(file) } catch { throw .refused(error.description) }
        guard let text = String(validating: original, as: UTF8.self) else { throw .refused("\(file) is not valid UTF-8 text") }
        let config: CutoverConfig
        do { config = try ConfigLoader.parse(yaml: text, file: file) } catch { throw .refused("\(error)") }
        try checkNames(config)
        if let cluster = config.cluster {
            try switchFleet(config, cluster)
            return
        }
        let plan: SplitRewrite.Result
        do {
            plan = try SplitRewrite.switchRoute(text, config: config, route: command.route, to: command.pool, ramp: command.ramp)
        } catch { throw .refused(error.description) }

        let admin = SwitchAdmin(options: command.options)
        let status = try admin.status()
        try checkRunning(status)
        if command.noSmokeTest {
            print("smoke test: skipped (--no-smoke-test)")
        } else {
            try smokeTest(config)
        }

        // Already at the target: nothing to write, but the reload and the check still run, so
        // the proxy is known to serve what the file says.
        let changed = plan.text != text
        if changed {
            guard (try? ConfigFile.read(file)) == original else {
                throw .refused("\(file) changed while cutover switch ran; nothing was written")
            }
            do { try ConfigFile.replace(file, with: Array(plan.text.utf8)) } catch { throw .refused(error.description) }
        }
        // Puts the original bytes back, unless someone edited the file meanwhile: their edit wins.
        let restore = { () -> String in
            guard changed else { return "\(file) was not changed" }
            guard (try? ConfigFile.read(file)) == Array(plan.text.utf8) else {
                return "\(file) was edited by someone else meanwhile, so it was left as it is now"
            }
            do { try ConfigFile.replace(file, with: original) } catch { return "restoring \(file) FAILED: \(error)" }
            return "\(file) restored"
        }

        let generation: UInt64
        do { generation = try admin.reload() } catch {
            // An answer lost on the way back may hide a reload that was applied after all.
            let unsure = error.code == AdminExit.unreachable && changed ? " (if the proxy applied the reload after all, run cutover reload)" : ""
            throw SwitchFailure(code: error.code, message: "\(error.message); \(restore())\(unsure)")
        }
        do {
            let ramp = plan.config.route(named: command.route)?.ramp.nanoseconds ?? 0
            try admin.waitForSplit(route: command.route, weights: plan.after, since: generation,
                                   seconds: Double(ramp) / 1e9 + 10)
        } catch {
            var message = "\(error.message); \(restore())"
            if changed {
                message += (try? admin.reload()).map { ", and reloaded (generation \($0))" } ?? ", but reloading it failed: run cutover reload"
            }
            throw SwitchFailure(code: AdminExit.rejected, message: message)
        }
        let moves = zip(plan.before, plan.after).map {
            $0.0.weight == $0.1.weight ? "\($0.1.name) \($0.1.weight)" : "\($0.0.name) \($0.0.weight) → \($0.1.weight)"
        }.joined(separator: ", ")
        let ramp = command.ramp.map { ", ramp \($0)" } ?? ""
        let verb = plan.before.map(\.weight) == plan.after.map(\.weight) ? "already on" : "switched to"
        print("route \(command.route): \(verb) \(command.pool) (\(moves))\(ramp), generation \(generation)")
    }

    /// ROUTE and POOL exist in the file, and POOL is one of ROUTE's pools.
    func checkNames(_ config: CutoverConfig) throws(SwitchFailure) {
        guard let route = config.route(named: command.route) else {
            throw .refused("\(file) has no route '\(command.route)' (routes: \(config.routes.map(\.name).joined(separator: ", ")))")
        }
        guard config.pool(named: command.pool) != nil else {
            throw .refused("\(file) has no pool '\(command.pool)' (pools: \(config.pools.map(\.name).joined(separator: ", ")))")
        }
        guard route.pools.contains(where: { $0.name == command.pool }) else {
            throw .refused("pool '\(command.pool)' is not one of route '\(command.route)''s pools (\(route.pools.map(\.name).joined(separator: ", "))); add it to the split first")
        }
    }

    /// The running proxy knows POOL as one of ROUTE's pools (else the override header would not
    /// pin anything and the reload is not the only change), and POOL has a healthy backend.
    func checkRunning(_ status: AdminStatus) throws(SwitchFailure) {
        let running = "the running proxy (\(status.configFile), generation \(status.generation))"
        guard let route = status.routes.first(where: { $0.name == command.route }),
              route.pools.contains(where: { $0.name == command.pool }),
              let pool = status.pools.first(where: { $0.name == command.pool }) else {
            throw .refused("\(running) has no pool '\(command.pool)' in route '\(command.route)'; add it with weight 0 and reload first, so it can be smoke-tested")
        }
        let healthy = pool.backends.filter { $0.state == "healthy" }.count
        guard healthy > 0 else {
            let states = pool.backends.map { "\($0.address) \($0.state)" }.joined(separator: ", ")
            throw .refused("pool \(command.pool) has no healthy backend (\(states.isEmpty ? "no backends" : states))")
        }
        print("pool \(command.pool): \(healthy) of \(pool.backends.count) backends healthy")
    }
}

import Admin
import ArgumentParser
import Config
import ControlPlane
import Foundation

/// `cutover backend add|drain|enable|remove|weight POOL ADDRESS`: one backend operation, made by
/// the proxy on its own config file (layout and comments kept) and reloaded, then verified
/// through `/status`. Exit 0 done and verified; 1 refused or failed (the reason printed, the file
/// as it was); 2 the admin API unreachable or refusing the token.
struct BackendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend",
        abstract: "Add, drain, enable, remove or re-weight one backend, and wait for the outcome.",
        subcommands: [Add.self, Drain.self, Enable.self, Remove.self, Weight.self])

    struct Target: ParsableArguments {
        @Argument(help: "The pool.") var pool: String
        @Argument(help: "The backend, HOST:PORT (IPv6 as [::1]:8080).") var address: String
        @OptionGroup var options: AdminOptions
        @Flag(help: "Return once the file is edited and reloaded, without waiting for the outcome.") var noWait = false
        @Option(help: "How long to wait for the outcome, e.g. 90s or 5m.") var timeout = "5m"

        func validate() throws {
            guard HostPort(parsing: address) != nil else { throw ValidationError("ADDRESS must be HOST:PORT, not '\(address)'") }
            guard Config.Duration(parsing: timeout) != nil else { throw ValidationError("--timeout must be a duration like 90s or 5m") }
        }

        var hostPort: HostPort { HostPort(parsing: address)! }
        var seconds: Double { Double(Config.Duration(parsing: timeout)?.nanoseconds ?? 0) / 1e9 }
        var admin: BackendAdmin { BackendAdmin(admin: SwitchAdmin(options: options), pool: pool) }

        /// Runs `body`, printing its failure and exiting with its code.
        func run(_ what: String, _ body: () throws(SwitchFailure) -> String) throws {
            do {
                print(try body())
            } catch {
                fflush(nil)
                FileHandle.standardError.write(Data("cutover: backend \(what) \(pool) \(address) failed: \(error.message)\n".utf8))
                throw ExitCode(error.code)
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add ADDRESS to POOL and wait until it is healthy and past its slow start (else it is taken out again).")
        @OptionGroup var target: Target
        @Option(help: "Its weight (0 to 256; default 1).") var weight: Int?

        func run() throws {
            let t = target
            try t.run("add") { () throws(SwitchFailure) -> String in
                let admin = t.admin
                let generation = try admin.operate("add", t.hostPort, weight: weight)
                if t.noWait { return "pool \(t.pool): \(t.hostPort) added, generation \(generation)" }
                do throws(SwitchFailure) {
                    try admin.wait(timeout: t.seconds, since: generation) { admin.notReady(t.hostPort, $0) }
                } catch {
                    let undo = (try? admin.operate("remove", t.hostPort)) != nil ? "it was taken out again" : "taking it out again FAILED: run cutover backend remove"
                    throw .refused("\(error.message); \(undo)")
                }
                return "pool \(t.pool): \(t.hostPort) added, healthy and taking its share (generation \(generation))"
            }
        }
    }

    struct Drain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop sending new requests to ADDRESS and wait until nothing runs or is open on it (or its deregistration delay ends).")
        @OptionGroup var target: Target

        func run() throws {
            let t = target
            try t.run("drain") { () throws(SwitchFailure) -> String in
                if let (config, cluster) = t.fleetCluster { return try t.fleetAdminState(.drain, config, cluster) }
                let admin = t.admin
                let generation = try admin.operate("drain", t.hostPort)
                if t.noWait { return "pool \(t.pool): \(t.hostPort) draining, generation \(generation)" }
                try admin.wait(timeout: t.seconds, since: generation) { admin.notDrained(t.hostPort, $0) }
                return "pool \(t.pool): \(t.hostPort) drained (generation \(generation))"
            }
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a drained ADDRESS active again and wait until it takes requests.")
        @OptionGroup var target: Target

        func run() throws {
            let t = target
            try t.run("enable") { () throws(SwitchFailure) -> String in
                if let (config, cluster) = t.fleetCluster { return try t.fleetAdminState(.active, config, cluster) }
                let admin = t.admin
                let generation = try admin.operate("enable", t.hostPort)
                if t.noWait { return "pool \(t.pool): \(t.hostPort) enabled, generation \(generation)" }
                try admin.wait(timeout: t.seconds, since: generation) { status in
                    guard let b = admin.backend(t.hostPort, in: status) else { return "\(t.hostPort) is not in pool \(t.pool)" }
                    return b.adminState == "active" && b.state == "healthy" && b.effectiveWeight > 0 ? nil : "\(t.hostPort) is \(b.state)"
                }
                return "pool \(t.pool): \(t.hostPort) active and taking requests (generation \(generation))"
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drain ADDRESS, wait until it is drained, then take it out of the file.")
        @OptionGroup var target: Target

        func run() throws {
            let t = target
            try t.run("remove") { () throws(SwitchFailure) -> String in
                let admin = t.admin
                let drained = try admin.operate("drain", t.hostPort)
                if !t.noWait {
                    try admin.wait(timeout: t.seconds, since: drained) { admin.notDrained(t.hostPort, $0) }
                }
                let generation = try admin.operate("remove", t.hostPort)
                if !t.noWait {
                    try admin.wait(timeout: t.seconds, since: generation) { status in
                        admin.listed(t.hostPort, in: status).map { "\(t.hostPort) still listed (\($0.state))" }
                    }
                }
                return "pool \(t.pool): \(t.hostPort) drained and removed (generation \(generation))"
            }
        }
    }

    struct Weight: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set ADDRESS's weight in POOL.")
        @OptionGroup var target: Target
        @Argument(help: "The new weight (0 to 256).") var weight: Int

        func validate() throws {
            guard (0...256).contains(weight) else { throw ValidationError("the weight must be 0 to 256, not \(weight)") }
        }

        func run() throws {
            let t = target
            try t.run("weight") { () throws(SwitchFailure) -> String in
                let admin = t.admin
                let generation = try admin.operate("weight", t.hostPort, weight: weight)
                if !t.noWait {
                    try admin.wait(timeout: t.seconds, since: generation) { status in
                        guard let b = admin.backend(t.hostPort, in: status) else { return "\(t.hostPort) is not in pool \(t.pool)" }
                        return b.weight == weight ? nil : "weight \(b.weight)"
                    }
                }
                return "pool \(t.pool): \(t.hostPort) weight \(weight) (generation \(generation))"
            }
        }
    }
}

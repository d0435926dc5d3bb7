import Admin
import ArgumentParser
import Config
import ControlPlane
import Foundation

/// `cutover upgrade`: the running proxy starts the new binary with its listening sockets and
/// runtime state, and drains once the new one serves. Exit 0 when the new process serves
/// (checked on /status: another pid), 1 when the old one still serves (the reason printed),
/// 2 when the admin API cannot be reached.
struct UpgradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Replace the running proxy by a new binary without refusing a connection (also SIGUSR2).",
        discussion: """
        The running process starts PATH (default: its own path, read again from disk) with its own \
        arguments, hands it every listening socket (the same sockets: nothing queued is lost) and the \
        backends' health, slow starts, drains, ejections, ramps and generation; once the new process \
        says it is ready, the old one stops accepting, finishes what it serves and exits. If the new \
        one fails (bad binary, bad config, crash, not ready within --timeout) the old one serves on.
        Exit status: 0 the new process serves; 1 the old one still serves (the reason is printed); \
        2 the admin API could not be reached.
        """)

    @Option(help: "The new binary (default: the running one's path).") var binary: String?
    @Option(help: "How long the new process may take to be ready, e.g. 30s.") var timeout = "30s"
    @OptionGroup var options: AdminOptions

    func validate() throws {
        guard let parsed = Config.Duration(parsing: timeout), parsed.nanoseconds > 0 else {
            throw ValidationError("--timeout must be a duration like 30s")
        }
    }

    func run() throws {
        let admin = SwitchAdmin(options: options)
        let before: AdminStatus
        do { before = try admin.status() } catch {
            options.fail(error.message)
        }
        var path = "/upgrade?timeout=\(RolloutCommand.escape(timeout))"
        if let binary {
            let absolute = URL(fileURLWithPath: binary).standardizedFileURL.path
            path += "&binary=\(RolloutCommand.escape(absolute))"
        }
        let seconds = Int((Config.Duration(parsing: timeout)?.nanoseconds ?? 30_000_000_000) / 1_000_000_000)
        let answer: AdminAnswer
        do { answer = try admin.call("POST", path, timeoutSeconds: seconds + 30) } catch {
            FileHandle.standardError.write(Data("cutover: upgrade: \(error.message)\n".utf8))
            throw ExitCode(error.code)
        }
        guard let result = try? AdminJSON.decode(UpgradeAnswer.self, from: answer.body) else {
            if answer.status == 404 { options.fail("the admin API has no /upgrade (an older cutover?)") }
            options.fail("unexpected answer from the admin API (\(answer.status)): \(answer.text.prefix(200))")
        }
        guard answer.status == 200, result.ok, let pid = result.pid else {
            FileHandle.standardError.write(Data("cutover: upgrade failed; pid \(before.process?.pid ?? 0) still serves: \(result.error ?? answer.text)\n".utf8))
            throw ExitCode(AdminExit.rejected)
        }
        // The admin socket is the new process's now: it answers /status.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let status = try? admin.status(), status.process?.pid == pid {
                print("upgraded: pid \(pid) serves (version \(status.process?.version ?? "?"), generation \(status.generation)); pid \(before.process?.pid ?? 0) drains and exits")
                return
            }
            usleep(100_000)
        }
        FileHandle.standardError.write(Data("cutover: the upgrade was handed over to pid \(pid), but its admin API did not answer within 10 s\n".utf8))
        throw ExitCode(AdminExit.rejected)
    }
}

import Admin
import ArgumentParser
import Config
import ControlPlane
import Foundation

/// Exit statuses of the commands that talk to a running proxy.
enum AdminExit {
    static let applied: Int32 = 0
    /// The proxy answered and refused: the reload was rejected (the old config keeps serving).
    static let rejected: Int32 = 1
    /// The admin API could not be used: not reachable, no address known, or the token refused.
    static let unreachable: Int32 = 2
}

/// Where the running proxy's admin API is and which token it wants: flags first, then the
/// environment, then the config file's `admin` section.
struct AdminOptions: ParsableArguments {
    @Option(help: "The admin API, HOST:PORT (default: admin.listen of the config file).")
    var admin: String?

    @Option(name: .shortAndLong, help: "The configuration file that names the admin API.")
    var config = "conf/cutover.yaml"

    @Option(help: "The admin token (default: $CUTOVER_ADMIN_TOKEN, then admin.token of the config file).")
    var token: String?

    func validate() throws {
        if let admin, HostPort(parsing: admin) == nil {
            throw ValidationError("--admin must be HOST:PORT (IPv6 as [::1]:9901), not '\(admin)'")
        }
    }

    /// The address and token to use, or a message on stderr and exit 2. Only the file's admin
    /// section is read, so a file whose edit is invalid still leads to the proxy that will reject it.
    func endpoint() -> (address: HostPort, token: String?) {
        let section = Result { () throws(ConfigError) in try ConfigLoader.adminSection(file: config) }
        let address: HostPort
        if let admin, let parsed = HostPort(parsing: admin) {
            address = parsed
        } else {
            switch section {
            case .success(let found?): address = found.listen
            case .success(nil): fail("\(config) has no admin section, so there is no admin API to ask; add admin.listen or pass --admin HOST:PORT")
            case .failure(let error): fail("cannot find the admin API: \(error)")
            }
        }
        let environment = ProcessInfo.processInfo.environment["CUTOVER_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let fileToken = (try? section.get())??.token
        return (address, token ?? environment ?? fileToken)
    }

    /// One request to the admin API; a refused token or an unreachable API ends the command (2).
    func call(_ method: String, _ path: String, timeoutSeconds: Int) -> AdminAnswer {
        let (address, token) = endpoint()
        let answer: AdminAnswer
        do {
            answer = try AdminClient.request(method, path, to: address, token: token, timeoutSeconds: timeoutSeconds)
        } catch {
            fail("\(error) (is cutover running with admin.listen \(address)?)")
        }
        if answer.status == 401 {
            fail("the admin API at \(address) refused the request (401): pass --token, set CUTOVER_ADMIN_TOKEN, or set admin.token in \(config)")
        }
        return answer
    }

    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("cutover: \(message)\n".utf8))
        Foundation.exit(AdminExit.unreachable)
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running proxy to reload its configuration, and wait for the answer.",
        discussion: "Exit status: 0 applied; 1 rejected (the error is printed, the old configuration keeps serving); 2 the admin API could not be reached.")

    @OptionGroup var options: AdminOptions

    func run() throws {
        // Generous: a reload resolves backend names, which can take a while on a bad resolver.
        let answer = options.call("POST", "/reload", timeoutSeconds: 120)
        guard let result = try? AdminJSON.decode(AdminReloadAnswer.self, from: answer.body) else {
            options.fail("unexpected answer from the admin API (\(answer.status)): \(answer.text)")
        }
        if answer.status == 200, result.ok {
            print("reloaded: generation \(result.generation.map(String.init) ?? "?")")
            let changes = result.changes ?? []
            if changes.isEmpty { print("  no changes") }
            for change in changes { print("  \(change)") }
            return
        }
        FileHandle.standardError.write(Data("cutover: reload rejected: \(result.error ?? answer.text)\ncutover: the running configuration keeps serving\n".utf8))
        throw ExitCode(AdminExit.rejected)
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the running proxy's routes, splits and backends.")

    @OptionGroup var options: AdminOptions

    @Flag(help: "Print the admin API's JSON instead of the table.")
    var json = false

    func run() throws {
        let answer = options.call("GET", "/status", timeoutSeconds: 10)
        guard answer.status == 200 else {
            options.fail("unexpected answer from the admin API (\(answer.status)): \(answer.text)")
        }
        if json {
            print(answer.text)
            return
        }
        guard let status = try? AdminJSON.decode(AdminStatus.self, from: answer.body) else {
            options.fail("the admin API's /status is not the JSON this version reads: \(answer.text)")
        }
        print(renderStatusTable(status, colour: Status.wantsColour), terminator: "")
    }

    /// ANSI colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
    static var wantsColour: Bool {
        let noColor = ProcessInfo.processInfo.environment["NO_COLOR"] ?? ""
        return isatty(STDOUT_FILENO) == 1 && noColor.isEmpty
    }
}

import Admin
import ArgumentParser
import ControlPlane
import Foundation

/// `cutover rollout …`: the automated canary's commands. The rollout itself runs inside the
/// proxy; these only ask the admin API (`/rollouts`) and, with `--wait`, follow it.
struct RolloutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Automated canary: start, follow and steer a rollout of a pool under its route's rollout: policy.",
        subcommands: [Start.self, RolloutStatus.self, Pause.self, Resume.self, Promote.self, Abort.self])

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a rollout of POOL (the canary) on ROUTE against the baseline.",
            discussion: """
            The rollout runs inside the proxy (this command may exit): the canary gets each step's share \
            of new requests in turn, is judged against the baseline every interval, and is promoted \
            after the last step or rolled back (or paused) when a check fails. See the README, "Automated canary".
            Exit status: without --wait, 0 started, 1 refused (the reason is printed), 2 admin API unreachable; \
            with --wait, 0 promoted, 1 rolled back, aborted or paused on a failure, 2 unreachable.
            """)

        @Argument(help: "The route.") var route: String
        @Argument(help: "The canary pool (one of the route's pools).") var pool: String
        @Option(help: "The pool to compare with (default: the pool carrying the route's traffic now).") var baseline: String?
        @Flag(help: "Follow the rollout until it ends (live progress on a terminal, plain lines otherwise).") var wait = false
        @OptionGroup var options: AdminOptions

        func run() throws {
            var path = "/rollouts/\(RolloutCommand.escape(route))/start?pool=\(RolloutCommand.escape(pool))"
            if let baseline { path += "&baseline=\(RolloutCommand.escape(baseline))" }
            let document = try RolloutCommand.command(options, path, what: "start the rollout")
            print("route \(route): rollout of \(document.canary) against \(document.baseline) started (steps \(document.steps.map(String.init).joined(separator: ", ")) %)")
            fflush(nil)
            if wait { try RolloutFollower(options: options, route: route).follow() }
        }
    }

    struct RolloutStatus: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Show the rollouts (or ROUTE's): state, step, shares, checks, last verdicts.")
        @Argument(help: "Only this route.") var route: String?
        @Flag(help: "Print the admin API's JSON.") var json = false
        @OptionGroup var options: AdminOptions

        func run() throws {
            let path = route.map { "/rollouts/\(RolloutCommand.escape($0))" } ?? "/rollouts"
            let answer = options.call("GET", path, timeoutSeconds: 10)
            guard answer.status == 200 else { try RolloutCommand.refuse(answer, options, what: "show the rollout") }
            if json {
                print(answer.text)
                return
            }
            let documents: [RolloutDocument]
            if route != nil, let one = try? AdminJSON.decode(RolloutDocument.self, from: answer.body) {
                documents = [one]
            } else if let list = try? AdminJSON.decode(RolloutList.self, from: answer.body) {
                documents = list.rollouts
            } else {
                options.fail("the admin API's \(path) is not the JSON this version reads: \(answer.text)")
            }
            if documents.isEmpty { print("no route has a rollout policy") }
            print(documents.map { RolloutReport.describe($0) }.joined(separator: "\n"), terminator: "")
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hold ROUTE's rollout at its current share.")
        @Argument(help: "The route.") var route: String
        @OptionGroup var options: AdminOptions
        func run() throws { try RolloutCommand.simple(options, route, "pause") }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume ROUTE's paused rollout.")
        @Argument(help: "The route.") var route: String
        @OptionGroup var options: AdminOptions
        func run() throws { try RolloutCommand.simple(options, route, "resume") }
    }

    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open the gate ROUTE's rollout waits at; with --now, promote the canary to 100 % at once.")
        @Argument(help: "The route.") var route: String
        @Flag(help: "Skip the remaining steps: the canary takes all new requests now.") var now = false
        @OptionGroup var options: AdminOptions
        func run() throws { try RolloutCommand.simple(options, route, now ? "promote?now=1" : "promote") }
    }

    struct Abort: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop ROUTE's rollout: the baseline takes every new request at once.")
        @Argument(help: "The route.") var route: String
        @OptionGroup var options: AdminOptions
        func run() throws { try RolloutCommand.simple(options, route, "abort") }
    }

    static func simple(_ options: AdminOptions, _ route: String, _ action: String) throws {
        let document = try command(options, "/rollouts/\(escape(route))/\(action)", what: action.prefix { $0 != "?" } + " the rollout")
        print("route \(route): \(document.state) at \(document.canaryWeight) % to \(document.canary): \(document.reason)")
    }

    /// POSTs a command; a refusal is printed and exits 1.
    static func command(_ options: AdminOptions, _ path: String, what: String) throws -> RolloutDocument {
        let answer = options.call("POST", path, timeoutSeconds: 30)
        guard answer.status == 200, let document = try? AdminJSON.decode(RolloutDocument.self, from: answer.body) else {
            try refuse(answer, options, what: what)
        }
        return document
    }

    static func refuse(_ answer: AdminAnswer, _ options: AdminOptions, what: String) throws -> Never {
        if answer.status == 404 && !answer.text.hasPrefix("{") {
            options.fail("the admin API has no /rollouts (an older cutover?): \(answer.text)")
        }
        let reason = (try? AdminJSON.decode(RolloutCommandAnswer.self, from: answer.body))?.error ?? answer.text
        FileHandle.standardError.write(Data("cutover: cannot \(what): \(reason)\n".utf8))
        throw ExitCode(1)
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+/?#"))) ?? text
    }
}

import Admin
import ArgumentParser
import ControlPlane
import Rollout
import Foundation

/// `rollout start --wait`: follows a rollout through `GET /rollouts/ROUTE` until it ends. On a
/// terminal the status block is redrawn in place; otherwise one plain line per change (state,
/// step, verdict) and a heartbeat every 10 s. A proxy that restarts meanwhile (it resumes the
/// rollout) is waited for up to 30 s before the command gives up with 2.
struct RolloutFollower {
    let options: AdminOptions
    let route: String

    func follow() throws {
        let interactive = isatty(STDOUT_FILENO) == 1
        var lastLine = ""
        var lastPrinted = Date.distantPast
        var drawnLines = 0
        var unreachableSince: Date?
        let (address, token) = options.endpoint()
        while true {
            let answer: AdminAnswer
            do {
                answer = try AdminClient.request("GET", "/rollouts/\(RolloutCommand.escape(route))", to: address, token: token, timeoutSeconds: 10)
                unreachableSince = nil
            } catch {
                let since = unreachableSince ?? Date()
                unreachableSince = since
                if Date().timeIntervalSince(since) > 30 { options.fail("\(error) (for 30 s): the rollout's outcome is unknown") }
                usleep(500_000)
                continue
            }
            if answer.status == 401 { options.fail("the admin API at \(address) refused the request (401)") }
            guard answer.status == 200, let document = try? AdminJSON.decode(RolloutDocument.self, from: answer.body) else {
                options.fail("unexpected answer from the admin API (\(answer.status)): \(answer.text)")
            }
            if interactive {
                let block = RolloutReport.describe(document, live: true)
                if drawnLines > 0 { print("\u{1B}[\(drawnLines)A\u{1B}[J", terminator: "") }
                print(block, terminator: "")
                drawnLines = block.filter { $0 == "\n" }.count
            } else {
                let line = RolloutReport.line(document)
                let key = "\(document.state) \(document.step) \(document.verdict ?? "-") \(document.reason)"
                if key != lastLine || Date().timeIntervalSince(lastPrinted) >= 10 {
                    print(line)
                    lastLine = key
                    lastPrinted = Date()
                }
            }
            fflush(nil)
            switch document.state {
            case "promoted":
                print("route \(route): \(document.canary) promoted: \(document.reason)")
                return
            case "failed", "aborted":
                FileHandle.standardError.write(Data("cutover: rollout of \(document.canary) on route \(route) \(document.state == "failed" ? "rolled back" : "aborted"): \(document.reason)\n".utf8))
                throw ExitCode(1)
            case "paused" where document.pausedOnFailure:
                FileHandle.standardError.write(Data("cutover: rollout of \(document.canary) on route \(route) paused on a failure: \(document.reason)\n".utf8))
                throw ExitCode(1)
            case "idle":
                options.fail("route \(route) has no rollout any more (the proxy restarted without its state file?)")
            default:
                usleep(500_000)
            }
        }
    }
}

/// How a rollout reads to a person.
enum RolloutReport {
    /// One line: time, state, step and share, canary and baseline numbers, the verdict.
    static func line(_ d: RolloutDocument) -> String {
        var now = time(nil)
        var local = tm()
        localtime_r(&now, &local)
        let time = String(format: "%02d:%02d:%02d", local.tm_hour, local.tm_min, local.tm_sec)
        var parts = ["\(time) \(d.state)", "step \(d.step)/\(d.steps.count) (\(d.canaryWeight) %)"]
        parts.append("\(d.canary) \(sample(d.canarySample, d.checks, canary: true))")
        parts.append("\(d.baseline) \(sample(d.baselineSample, d.checks, canary: false))")
        if d.state == "progressing" { parts.append(timeLeft(d)) }
        parts.append("\(d.verdict ?? "no verdict yet"): \(d.reason)")
        return parts.joined(separator: " | ")
    }

    /// A block: header, both pools, each check, the last transitions.
    static func describe(_ d: RolloutDocument, live: Bool = false) -> String {
        guard d.state != "idle" else {
            return "route \(d.route): no rollout (policy: steps \(d.steps.map(String.init).joined(separator: ", ")) %)\n"
        }
        var out = "route \(d.route): \(d.canary) against \(d.baseline): \(d.state.uppercased())"
        out += ", step \(d.step)/\(d.steps.count), canary \(d.canaryWeight) %"
        if d.state == "progressing" { out += ", \(timeLeft(d))" }
        if let leader = d.leader { out += ", led by \(leader)" }
        out += "\n  \(d.reason)\n"
        // An instance following another's fleet rollout has no samples (the leader sums them) and
        // no update time of its own.
        if d.leader == nil || d.updatedAt != nil {
            out += "  \(pad(d.canary)) \(sample(d.canarySample, d.checks, canary: true))   (canary)\n"
            out += "  \(pad(d.baseline)) \(sample(d.baselineSample, d.checks, canary: false))   (baseline)\n"
        }
        for check in d.checks {
            out += "  check \(check.check): \(check.verdict.rawValue) — \(check.reason)\n"
        }
        let recent = d.history.suffix(live ? 3 : 8)
        for entry in recent { out += "  \(entry.at) \(entry.event): \(entry.reason)\n" }
        return out
    }

    private static func pad(_ name: String) -> String { name.padding(toLength: max(8, name.count), withPad: " ", startingAt: 0) }

    private static func sample(_ s: RolloutDocument.Sample, _ checks: [CheckResult], canary: Bool) -> String {
        var text = "\(s.requests) req, \(percent(s.errors, s.requests)) err"
        if let latency = checks.first(where: { $0.check == "latency" }), let value = canary ? latency.canary : latency.baseline {
            text += ", latency \(milliseconds(value))"
        }
        return text
    }

    private static func timeLeft(_ d: RolloutDocument) -> String {
        let left = max(0, d.stepDurationSeconds - d.stepSeconds)
        return left > 0 ? "\(Int(left.rounded(.up))) s left at this step" : "step time done"
    }

    static func percent(_ part: UInt64, _ whole: UInt64) -> String {
        guard whole > 0 else { return "-" }
        return String(format: "%.2f %%", Double(part) / Double(whole) * 100)
    }

    static func milliseconds(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }
}

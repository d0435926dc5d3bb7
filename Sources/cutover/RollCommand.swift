import Admin
import ArgumentParser
import Config
import ControlPlane
import Foundation

/// `cutover roll POOL --replace OLD=NEW …`: a rolling replacement as one command. Pair by pair
/// (or `--max-surge` + `--max-unavailable` pairs at once): add NEW and wait until it is healthy
/// and past slow start, drain OLD and wait until nothing runs on it, remove it. With the defaults
/// (surge 1, unavailable 0) the pool never has fewer usable backends than at the start. Every
/// step is one edit of the file and one reload, so an interrupted roll leaves a valid config, and
/// running the same command again completes it (steps already done are skipped).
struct RollCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roll",
        abstract: "Replace backends of POOL one by one: add NEW, wait healthy, drain OLD, wait drained, remove OLD.",
        discussion: """
        Exit status: 0 every pair replaced; 1 stopped (a NEW backend not ready within --timeout is taken \
        out again and the old backends keep serving; the reason is printed); 2 the admin API unreachable.
        """)

    @Argument(help: "The pool.") var pool: String
    @Option(name: .customLong("replace"), parsing: .upToNextOption, help: "OLD=NEW pairs of HOST:PORT.") var pairs: [String]
    @Option(help: "How many NEW backends may run on top of the pool's size at once.") var maxSurge = 1
    @Option(help: "How many OLD backends may be out of rotation before their NEW one is ready.") var maxUnavailable = 0
    @Option(help: "How long a NEW backend may take to be ready, and an OLD one to drain, e.g. 2m.") var timeout = "5m"
    @Option(help: "The NEW backends' weight (default: the OLD one's).") var weight: Int?
    @OptionGroup var options: AdminOptions

    func validate() throws {
        guard !pairs.isEmpty else { throw ValidationError("give at least one --replace OLD=NEW") }
        for pair in pairs {
            let sides = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard sides.count == 2, HostPort(parsing: sides[0]) != nil, HostPort(parsing: sides[1]) != nil else {
                throw ValidationError("--replace takes OLD=NEW with both HOST:PORT, not '\(pair)'")
            }
        }
        guard maxSurge >= 0, maxUnavailable >= 0, maxSurge + maxUnavailable >= 1 else {
            throw ValidationError("--max-surge and --max-unavailable must be ≥ 0 and not both 0")
        }
        guard Config.Duration(parsing: timeout) != nil else { throw ValidationError("--timeout must be a duration like 90s or 5m") }
        if let weight, !(0...256).contains(weight) { throw ValidationError("--weight must be 0 to 256") }
    }

    func run() throws {
        let replacements = pairs.map { pair -> (old: HostPort, new: HostPort) in
            let sides = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return (HostPort(parsing: sides[0])!, HostPort(parsing: sides[1])!)
        }
        let roll = Roll(admin: BackendAdmin(admin: SwitchAdmin(options: options), pool: pool), pairs: replacements,
                        surge: maxSurge, unavailable: maxUnavailable,
                        seconds: Double(Config.Duration(parsing: timeout)?.nanoseconds ?? 0) / 1e9, weight: weight)
        do {
            try roll.perform()
        } catch {
            roll.progress.finish()
            FileHandle.standardError.write(Data("cutover: roll of pool \(pool) stopped: \(error.message)\n".utf8))
            throw ExitCode(error.code)
        }
    }
}

/// One run of `cutover roll`.
struct Roll {
    let admin: BackendAdmin
    let pairs: [(old: HostPort, new: HostPort)]
    let surge: Int
    let unavailable: Int
    let seconds: Double
    let weight: Int?
    let progress = RollProgress()

    func perform() throws(SwitchFailure) {
        let start = try admin.admin.status()
        guard start.pools.contains(where: { $0.name == admin.pool }) else {
            throw .refused("the running proxy has no pool '\(admin.pool)'")
        }
        let floor = admin.usable(start) - unavailable
        // The OLD backends' weights as they are now: once an OLD is out of the file it no longer says.
        var oldWeights: [String: Int] = [:]
        for pair in pairs {
            if let old = admin.backend(pair.old, in: start) { oldWeights[pair.old.description] = old.weight }
        }
        progress.say("pool \(admin.pool): \(pairs.count) backend(s) to replace, \(admin.usable(start)) usable now; surge \(surge), unavailable \(unavailable)")
        let chunk = surge + unavailable  // validate: ≥ 1
        var index = 0
        while index < pairs.count {
            let batch = Array(pairs[index..<min(index + chunk, pairs.count)])
            let addFirst = Array(batch.prefix(surge))
            let drainFirst = Array(batch.dropFirst(surge))
            let label = "pair\(batch.count > 1 ? "s" : "") \(index + 1)\(batch.count > 1 ? "-\(index + batch.count)" : "")/\(pairs.count)"
            // Surge pairs: NEW first. Unavailable pairs: OLD out first.
            for pair in addFirst { try add(pair, label, oldWeights) }
            for pair in drainFirst { try drain(pair.old, label) }
            try waitReady(addFirst.map(\.new), label, undo: addFirst)
            try waitDrained(drainFirst.map(\.old), label)
            for pair in drainFirst {
                try remove(pair.old, label)
                try add(pair, label, oldWeights)
            }
            for pair in addFirst { try drain(pair.old, label) }
            try waitReady(drainFirst.map(\.new), label, undo: drainFirst)
            try waitDrained(addFirst.map(\.old), label)
            for pair in addFirst { try remove(pair.old, label) }
            for pair in batch { progress.say("\(label): \(pair.old) → \(pair.new) done") }
            index += batch.count
        }
        let end = try admin.admin.status()
        progress.finish()
        print("pool \(admin.pool): \(pairs.count) backend(s) replaced; \(admin.usable(end)) usable (at least \(max(0, floor)) throughout by design)")
    }

    private func current() throws(SwitchFailure) -> AdminStatus { try admin.admin.status() }

    private func add(_ pair: (old: HostPort, new: HostPort), _ label: String, _ oldWeights: [String: Int]) throws(SwitchFailure) {
        let status = try current()
        if let present = admin.backend(pair.new, in: status) {
            if present.adminState == "drain" { _ = try admin.operate("enable", pair.new) }
            progress.say("\(label): \(pair.new) already in the pool")
            return
        }
        let oldWeight = oldWeights[pair.old.description] ?? admin.backend(pair.old, in: status)?.weight
        _ = try admin.operate("add", pair.new, weight: weight ?? (oldWeight == 1 ? nil : oldWeight))
        progress.say("\(label): \(pair.new) added, waiting until healthy and past slow start")
    }

    private func drain(_ old: HostPort, _ label: String) throws(SwitchFailure) {
        guard let present = admin.backend(old, in: try current()) else { return }
        if present.adminState != "drain" { _ = try admin.operate("drain", old) }
        progress.say("\(label): \(old) draining")
    }

    private func remove(_ old: HostPort, _ label: String) throws(SwitchFailure) {
        guard admin.backend(old, in: try current()) != nil else { return }
        _ = try admin.operate("remove", old)
        progress.say("\(label): \(old) removed")
    }

    /// Waits until every backend of `news` is ready; on timeout takes the unready ones out again
    /// (and enables the OLD ones of `undo` that were drained first), so the old ones serve.
    private func waitReady(_ news: [HostPort], _ label: String, undo: [(old: HostPort, new: HostPort)]) throws(SwitchFailure) {
        guard !news.isEmpty else { return }
        let generation = try current().generation
        do throws(SwitchFailure) {
            try admin.wait(timeout: seconds, since: generation) { status in
                progress.show("\(label): waiting for \(news.map(\.description).joined(separator: ", ")) — \(summary(status))")
                return news.compactMap { admin.notReady($0, status) }.first
            }
        } catch {
            var undone: [String] = []
            for pair in undo {
                if let status = try? current(), admin.notReady(pair.new, status) != nil, admin.backend(pair.new, in: status) != nil {
                    undone.append((try? admin.operate("remove", pair.new)) != nil ? "\(pair.new) taken out" : "taking \(pair.new) out FAILED")
                }
                if let status = try? current(), admin.backend(pair.old, in: status)?.adminState == "drain" {
                    undone.append((try? admin.operate("enable", pair.old)) != nil ? "\(pair.old) enabled again" : "enabling \(pair.old) FAILED")
                }
            }
            throw .refused("\(label): \(error.message)\(undone.isEmpty ? "" : "; " + undone.joined(separator: ", ")); the old backends keep serving")
        }
    }

    private func waitDrained(_ olds: [HostPort], _ label: String) throws(SwitchFailure) {
        guard !olds.isEmpty else { return }
        let generation = try current().generation
        try admin.wait(timeout: seconds, since: generation) { status in
            progress.show("\(label): draining \(olds.map(\.description).joined(separator: ", ")) — \(summary(status))")
            return olds.compactMap { admin.notDrained($0, status) }.first
        }
    }

    private func summary(_ status: AdminStatus) -> String {
        let backends = status.pools.first { $0.name == admin.pool }?.backends ?? []
        let draining = backends.filter { $0.state == "draining" }.count
        return "\(admin.usable(status)) usable, \(draining) draining, \(backends.count) listed"
    }
}

/// Progress: on a terminal one status line redrawn in place under the step lines; otherwise the
/// step lines only (a waiting line is printed when it changes, at most every 5 s).
final class RollProgress: @unchecked Sendable {
    private let interactive = isatty(STDOUT_FILENO) == 1
    private var live = false
    private var lastShown = ""
    private var lastShownAt = Date.distantPast

    func say(_ line: String) {
        clear()
        print(line)
        fflush(nil)
    }

    func show(_ line: String) {
        if interactive {
            clear()
            print(line, terminator: "")
            live = true
        } else if line != lastShown && Date().timeIntervalSince(lastShownAt) >= 5 {
            print(line)
            lastShown = line
            lastShownAt = Date()
        }
        fflush(nil)
    }

    func finish() { clear() }

    private func clear() {
        if live { print("\r\u{1B}[K", terminator: "") }
        live = false
    }
}

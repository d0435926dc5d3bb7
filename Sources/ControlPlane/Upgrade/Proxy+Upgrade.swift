import Admin
import Balancer
import Config
import Dispatch
import EventLoop
import Foundation
import HealthCheck
import Logging

/// The binary upgrade, old side: starts the new binary with the same arguments, hands it every
/// listening socket by inheritance and the runtime state in a file, waits until it says it is
/// ready, then stops accepting and drains like a shutdown while the new process serves. The
/// sockets are the same ones (never closed and re-bound), so no connection queued on them is
/// lost. If the new process fails (exits, says ERROR, or is not ready within the timeout) it is
/// killed and this process goes on as if nothing happened.
extension Proxy {
    static let upgradeStateVariable = "CUTOVER_UPGRADE_STATE"

    /// The binary `cutover upgrade` starts by default: this one's path as it was started (a new
    /// build copied over that path is what runs next).
    static let startedBinary: String = {
        let argument = CommandLine.arguments.first ?? "cutover"
        if argument.contains("/") {
            return URL(fileURLWithPath: argument).standardizedFileURL.path
        }
        // Found on PATH: where that is now.
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/\(argument)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return argument
    }()

    /// SIGUSR2: an upgrade to the same path, as HAProxy and nginx operators expect.
    func upgradeBySignal() {
        DispatchQueue.global().async { [unowned self] in
            switch self.upgrade(binary: nil, timeout: nil) {
            case .success(let pid): log.info("SIGUSR2: upgraded; pid \(pid) serves now")
            case .failure(let error): log.error("SIGUSR2: upgrade failed, still serving: \(error)")
            }
        }
    }

    /// Runs an upgrade; returns the new process's pid once it serves. Any thread but the control
    /// queue (it waits for the new process without holding the queue).
    func upgrade(binary: String?, timeout: Config.Duration?) -> Result<Int32, UpgradeFailure> {
        let prepared = queue.sync { prepareUpgrade(binary: binary ?? Proxy.startedBinary) }
        guard case .success(let child) = prepared else {
            if case .failure(let error) = prepared { return .failure(error) }
            return .failure(UpgradeFailure(status: 500, description: "unreachable"))
        }
        let limit = Int32(clamping: (timeout?.nanoseconds ?? 30_000_000_000) / 1_000_000)
        let answer = child.channel.receive(timeoutMs: limit)
        return queue.sync {
            guard let answer, answer.hasPrefix("READY ") else {
                let reason = child.failure(answer: answer, timeoutMs: limit)
                finishUpgrade(child, succeeded: false, reason: reason)
                return .failure(UpgradeFailure(status: 422, description: reason))
            }
            child.channel.send("GO")
            finishUpgrade(child, succeeded: true, reason: "pid \(child.pid) serves")
            handOver(to: child.pid)
            return .success(child.pid)
        }
    }

    /// The new process as started, and what the old side must undo or close.
    struct UpgradeChild {
        var pid: Int32
        var channel: UpgradeChannel
        var statePath: String
        var binary: String

        /// Why the child did not get ready; it is killed and reaped.
        func failure(answer: String?, timeoutMs: Int32) -> String {
            var status: Int32 = 0
            var exited = waitpid(pid, &status, WNOHANG) == pid
            var reason: String
            if let answer, answer.hasPrefix("ERROR ") {
                reason = "the new process refused to start: \(answer.dropFirst("ERROR ".count))"
            } else if answer == nil, !exited, kill(pid, 0) == 0 {
                // EOF races with the exit: give a crashed process a moment to be reaped.
                usleep(100_000)
                exited = waitpid(pid, &status, WNOHANG) == pid
                reason = exited ? Self.describe(status) : "the new process was not ready within \(timeoutMs / 1000) s"
            } else {
                reason = exited ? Self.describe(status) : "the new process closed its channel without saying why"
            }
            if !exited {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
            }
            return "\(binary): \(reason)"
        }

        static func describe(_ status: Int32) -> String {
            let signal = status & 0x7f
            return signal == 0 ? "the new process exited with status \((status >> 8) & 0xff) before it was ready"
                : "the new process was killed by signal \(signal) before it was ready"
        }
    }

    /// Control queue: checks, writes the state, starts the child with the sockets.
    private func prepareUpgrade(binary: String) -> Result<UpgradeChild, UpgradeFailure> {
        guard !stopping else { return .failure(UpgradeFailure(status: 503, description: "shutting down: no upgrade")) }
        guard !upgrading else { return .failure(UpgradeFailure(status: 409, description: "an upgrade is already under way; wait for its result")) }
        if let parent = upgradedFrom, getppid() == parent {  // reparented once it has exited
            return .failure(UpgradeFailure(status: 409, description: "the previous process (pid \(parent)) is still draining its connections; upgrade again once it has exited (at most timeouts.shutdown, \(config.timeouts.shutdown))"))
        }
        guard access(binary, X_OK) == 0 else {
            let reason = "\(binary) is not an executable file"
            adminState.update { state in
                state.upgradesFailed += 1
                state.lastUpgrade = UpgradeRecord(succeeded: false, detail: reason, at: Date())
            }
            return .failure(UpgradeFailure(status: 422, description: reason))
        }
        let sockets = InheritedSockets(admin: admin?.fd, listeners: listeners.mapValues(\.fds))
        let statePath = NSTemporaryDirectory() + "cutover-upgrade-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        do { try exportUpgradeState().write(to: statePath) } catch {
            return .failure(UpgradeFailure(status: 422, description: "cannot write the state for the new process: \(error)"))
        }
        saveRollouts()
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            return .failure(UpgradeFailure(status: 422, description: "socketpair: \(String(cString: strerror(errno)))"))
        }
        _ = fcntl(pair[0], F_SETFD, FD_CLOEXEC)
        let handed = sockets.all + [pair[1]]
        Proxy.closeOnExecEverything(but: Set(handed))
        for fd in handed { _ = fcntl(fd, F_SETFD, 0) }
        var environment = ProcessInfo.processInfo.environment
        environment[InheritedSockets.variable] = sockets.environmentValue
        environment[UpgradeChannel.variable] = "\(pair[1])"
        environment[Proxy.upgradeStateVariable] = statePath
        let arguments = [binary] + CommandLine.arguments.dropFirst()
        let spawned = Proxy.spawn(binary, arguments: arguments, environment: environment)
        for fd in handed { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        close(pair[1])
        guard case .success(let pid) = spawned else {
            close(pair[0])
            unlink(statePath)
            if case .failure(let reason) = spawned { return .failure(UpgradeFailure(status: 422, description: "cannot start \(binary): \(reason)")) }
            return .failure(UpgradeFailure(status: 422, description: "cannot start \(binary)"))
        }
        upgrading = true
        log.info("upgrade: started \(binary) as pid \(pid); waiting until it is ready")
        return .success(UpgradeChild(pid: pid, channel: UpgradeChannel(fd: pair[0]), statePath: statePath, binary: binary))
    }

    private func finishUpgrade(_ child: UpgradeChild, succeeded: Bool, reason: String) {
        close(child.channel.fd)
        unlink(child.statePath)
        upgrading = false
        adminState.update { state in
            if succeeded { state.upgradesSucceeded += 1 } else { state.upgradesFailed += 1 }
            state.lastUpgrade = UpgradeRecord(succeeded: succeeded, detail: reason, at: Date())
        }
        if succeeded { log.info("upgrade: \(reason); this process (pid \(getpid())) stops accepting and drains") }
        else { log.error("upgrade failed, still serving: \(reason)") }
    }

    /// The new process accepts from now on: stop taking connections, tell systemd who the main
    /// process is, and drain as a shutdown does (without the delay: nothing must move away).
    private func handOver(to pid: Int32) {
        handedOver = true
        admin?.stopAccepting()
        SystemdNotify.send("MAINPID=\(pid)\nREADY=1")
        stopping = true
        adminState.update { $0.stopping = true }
        drainNow()
    }

    /// Marks every descriptor from 3 up close-on-exec but `kept`: the new process must inherit
    /// the sockets it is handed and nothing else (a pipe a supervisor watches for our exit, a
    /// socket of Foundation's, a file this process was started with).
    static func closeOnExecEverything(but kept: Set<Int32>) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for entry in entries {
            guard let fd = Int32(entry), fd > 2, !kept.contains(fd) else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// posix_spawn: descriptors without FD_CLOEXEC are inherited (unlike Foundation's Process,
    /// which closes them), which is the point.
    struct SpawnError: Error, CustomStringConvertible { var description: String }

    static func spawn(_ path: String, arguments: [String], environment: [String: String]) -> Result<Int32, SpawnError> {
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        let status = posix_spawn(&pid, path, nil, nil, argv, envp)
        return status == 0 ? .success(pid) : .failure(SpawnError(description: String(cString: strerror(status))))
    }

    // MARK: the state handed over

    func exportUpgradeState() -> UpgradeState {
        var backends: [UpgradeState.Backend] = []
        for identity in book.identities {
            var entry = UpgradeState.Backend(pool: identity.pool, address: identity.address)
            entry.health = book.health[identity]?.name
            entry.slowStartBegan = book.slowStartBegan[identity]
            entry.adminDrainBegan = book.adminDrainBegan[identity]
            entry.ejectedUntil = book.ejectedUntil[identity]
            entry.ejectionRefusedUntil = book.ejectionRefusedUntil[identity]
            backends.append(entry)
        }
        let snapshot = adminState.read()
        return UpgradeState(generation: generation, backends: backends, ramps: ramps.handoff,
                            reloadsSucceeded: snapshot.reloadsSucceeded, reloadsFailed: snapshot.reloadsFailed,
                            upgradesSucceeded: snapshot.upgradesSucceeded + 1, upgradesFailed: snapshot.upgradesFailed)
    }

    /// New side, at start: what the old process knew about backends, splits and generation.
    func adoptUpgradeState() {
        guard let path = ProcessInfo.processInfo.environment[Proxy.upgradeStateVariable] else { return }
        upgradedFrom = getppid()
        defer { unlink(path) }
        let state: UpgradeState
        do { state = try UpgradeState.read(from: path) } catch {
            log.error("upgrade: cannot read the state handed over (\(error)); backends start from scratch")
            return
        }
        var seeds: [BackendIdentity: HealthState] = [:]
        for entry in state.backends {
            let identity = BackendIdentity(pool: entry.pool, address: entry.address)
            if let health = entry.health.flatMap(HealthState.init(name:)) {
                book.health[identity] = health
                seeds[identity] = health
            }
            book.slowStartBegan[identity] = entry.slowStartBegan
            book.adminDrainBegan[identity] = entry.adminDrainBegan
            book.ejectedUntil[identity] = entry.ejectedUntil
            book.ejectionRefusedUntil[identity] = entry.ejectionRefusedUntil
        }
        healthSeeds = seeds
        generation = state.generation
        ramps.adopt(state.ramps, config: config)
        adminState.update {
            $0.lastUpgrade = UpgradeRecord(succeeded: true, detail: "pid \(getpid()) serves, took over from pid \(getppid())", at: Date())
            $0.generation = state.generation
            $0.reloadsSucceeded = state.reloadsSucceeded
            $0.reloadsFailed = state.reloadsFailed
            $0.upgradesSucceeded = state.upgradesSucceeded
            $0.upgradesFailed = state.upgradesFailed
        }
        log.info("upgrade: took over from pid \(getppid()) at generation \(state.generation) with the state of \(state.backends.count) backend(s)")
    }
}

/// The last upgrade, for `/status`.
struct UpgradeRecord: Sendable {
    var succeeded: Bool
    var detail: String
    var at: Date
}

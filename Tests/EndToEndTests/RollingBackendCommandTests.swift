import Foundation
import Glibc
import Testing

/// `cutover backend add|drain|enable|weight|remove POOL ADDRESS` against the real binary: each
/// returns once its outcome holds (a drain after the last request on the backend finished, an add
/// once the backend is healthy and past slow start), a drained backend stays drained across
/// reloads and restarts, and an edit the proxy cannot make leaves the file byte for byte.
@Suite struct RollingBackendCommandTests {
    @Test func drainReturnsOnlyAfterASlowRequestOnTheBackendFinished() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let b = try await bed.backend("b")
        // A 10 s deregistration delay: the drain must end because the slow request did, not the delay.
        let s = try await RollingBed.start([a.port, b.port], poolLines: RollingBed.check() + ["deregistration_delay: 10s"], in: bed)

        // A 3 s request on a: round robin over equal weights gives the second request to the
        // other backend than the first (the health checks probe /count, which is not counted).
        let slowRequest = "GET /slow?ms=3000 HTTP/1.1\r\nHost: app\r\n\r\n"
        var clients: [RawClient] = []
        var slowSent: UInt64 = 0
        for _ in 0..<2 {
            let client = try RawClient(port: s.port, timeout: .seconds(15))
            slowSent = monotonicNanoseconds()
            try client.send(slowRequest)
            clients.append(client)
            try await waitUntil("a backend has slow request \(clients.count)") {
                try await a.counts().heads + b.counts().heads == clients.count
            }
            if try await a.counts().heads == 1 { break }
        }
        let onA = try #require(clients.last)
        #expect(try await a.counts().heads == 1)

        let drain = try s.start(["backend", "drain", "blue", s.address(a.port)])
        // While it runs: a is drained (no new request reaches it) with the slow request in flight.
        var seen: [String: Any] = [:]
        try await waitUntil("/status shows a drained with one request in flight", timeout: .seconds(2)) {
            seen = try await s.backend(a.port) ?? [:]
            return seen["admin_state"] as? String == "drain"
        }
        #expect(seen["state"] as? String == "draining", "\(seen)")
        #expect(seen["health"] as? String == "healthy", "\(seen)")
        #expect(seen["in_flight"] as? Int == 1, "\(seen)")
        #expect(seen["effective_weight"] as? Int == 0, "\(seen)")
        let left = seen["drain_seconds_left"] as? Double ?? -1
        #expect(left > 7 && left <= 10, "drain_seconds_left \(left)")
        #expect(drain.isRunning, "the drain returned with a request in flight: \(drain.stdoutText) \(drain.stderrText)")
        #expect(try await s.answers(6) == Array(repeating: "b", count: 6))
        let table = try await s.cutover(["status"])
        let aLine = table.stdout.split(separator: "\n").first { $0.contains(s.address(a.port)) }.map(String.init) ?? ""
        #expect(aLine.contains("drain (healthy, ") && aLine.contains("s left)"), "cutover status: \(table.stdout)")

        // Watch the drain command from a thread of its own: the last moment it was seen running.
        let watcher = ExitWatcher(drain)
        let slow = try await onA.readResponse()
        let slowDone = monotonicNanoseconds()
        #expect(slow.status == 200)
        #expect(slow.header("X-Backend") == "a")
        #expect(slow.bodyText == "slow")
        let status = try await drain.waitForExit(timeout: .seconds(5))
        let lastRunning = watcher.stop()
        print("ROLLING-FIGURES drain: slow request done \(milliseconds(slowSent, slowDone)) ms after sent; drain command last seen running \(milliseconds(slowSent, lastRunning)) ms after; exited \(status)")
        #expect(status == 0, "\(drain.stdoutText) \(drain.stderrText)")
        #expect(drain.stdoutText.contains("drained"), "\(drain.stdoutText)")
        // The slow request cannot finish before 3 s after it was sent; the drain ran until then.
        #expect(milliseconds(slowSent, lastRunning) >= 2950, "the drain was last seen running \(milliseconds(slowSent, lastRunning)) ms after the slow request was sent")
        // …and returned soon after it finished, long before the 10 s delay.
        #expect(milliseconds(slowDone, monotonicNanoseconds()) < 2000)
        #expect(try await s.backend(a.port)?["admin_state"] as? String == "drain")
        for client in clients where client !== onA { #expect(try await client.readResponse().header("X-Backend") == "b") }
    }

    @Test func addReturnsOnlyOnceTheBackendIsHealthyAndPastSlowStart() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let n = try await bed.backend("n")
        // Rise 3 at 300 ms: the second and third passed probes come 0.6 s after the first; then 1 s of slow start.
        let check = RollingBed.check(interval: "300ms", rise: 3) + ["slow_start: 1s"]
        let s = try await RollingBed.start([a.port], poolLines: check, in: bed)

        let watch = BackendWatcher(s, port: n.port)
        let started = monotonicNanoseconds()
        let add = try s.start(["backend", "add", "blue", s.address(n.port), "--weight", "3"])
        let status = try await add.waitForExit(timeout: .seconds(20))
        let returned = monotonicNanoseconds()
        let right = try await s.backend(n.port) ?? [:]
        let looks = await watch.stop()
        #expect(status == 0, "\(add.stdoutText) \(add.stderrText)")
        #expect(add.stdoutText.contains("added"), "\(add.stdoutText)")

        let listed = looks.filter { $0.entry != nil }
        let firstListed = try #require(listed.first, "n never appeared in /status")
        let healthyAt = listed.first { $0.entry?["health"] as? String == "healthy" }?.at
        let fullAt = listed.first { ($0.entry?["slow_start_seconds_left"] as? Double ?? 0) == 0 && $0.entry?["health"] as? String == "healthy" }?.at
        print("ROLLING-FIGURES add: listed \(milliseconds(started, firstListed.at)) ms, healthy \(healthyAt.map { milliseconds(started, $0) } ?? -1) ms, past slow start \(fullAt.map { milliseconds(started, $0) } ?? -1) ms, command returned \(milliseconds(started, returned)) ms after start")
        #expect(firstListed.entry?["health"] as? String == "checking", "n first appeared as \(firstListed.entry ?? [:])")
        #expect(firstListed.entry?["admin_state"] as? String == "active")
        #expect(listed.contains { $0.entry?["state"] as? String == "checking" })
        let h = try #require(healthyAt, "/status never showed n healthy while the command ran")
        #expect(h <= returned)
        // Rise 3 needs two intervals (± 10 %) after the first probe; slow start 1 s after that.
        #expect(milliseconds(firstListed.at, h) >= 450, "healthy \(milliseconds(firstListed.at, h)) ms after it was listed")
        #expect(milliseconds(h, returned) >= 900, "the command returned \(milliseconds(h, returned)) ms after n turned healthy, inside its 1 s slow start")
        // Right after it returned: healthy, past slow start, taking its share.
        #expect(right["health"] as? String == "healthy", "\(right)")
        #expect(RollingBed.isUsable(right), "\(right)")
        #expect((right["slow_start_seconds_left"] as? Double ?? 0) == 0, "\(right)")
        #expect(right["effective_weight"] as? Int == right["weight"] as? Int, "\(right)")
        #expect(try s.filePorts() == [a.port, n.port], "\(s.text)")
        #expect(s.entryText(n.port).contains("weight: 3"), "\(s.text)")
        #expect(right["weight"] as? Int == 3, "\(right)")
        #expect(try s.linesLost(editing: []).isEmpty, "\(s.text)")
        #expect(Set(try await s.answers(6)) == ["a", "n"])
    }

    @Test func anAddThatIsNotHealthyInTimeIsTakenOutAgain() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let nowhere = try bed.refusingPort()
        let s = try await RollingBed.start([a.port], in: bed)
        let (add, took) = try await timed {
            try await s.cutover(["backend", "add", "blue", s.address(nowhere), "--timeout", "1s"])
        }
        #expect(add.status == 1, "\(add)")
        #expect(add.stderr.contains(s.address(nowhere)) && add.stderr.contains("taken out again"), "\(add.stderr)")
        #expect(took >= .seconds(1) && took < .seconds(10), "\(took)")
        #expect(try s.fileText() == s.original, "\(s.text)")
        try await waitUntil("/status no longer lists it", timeout: .seconds(3)) { try await s.listedPorts() == [a.port] }
        #expect(try await s.answers(3) == ["a", "a", "a"])
    }

    @Test func aDrainedBackendStaysDrainedAcrossAReloadAndARestart() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let b = try await bed.backend("b")
        let s = try await RollingBed.start([a.port, b.port], poolLines: RollingBed.check() + ["deregistration_delay: 2s"], in: bed)

        let drain = try await s.cutover(["backend", "drain", "blue", s.address(a.port)])
        #expect(drain.status == 0, "\(drain)")
        let text = try s.fileText()
        let aEntry = s.entryText(a.port)
        #expect(aEntry.contains("state: drain") && aEntry.contains("# the first one"), "a's entry: \(aEntry)")
        #expect(try s.linesLost(editing: [a.port]).isEmpty, "\(text)")
        let heads = try await a.counts().heads

        // SIGHUP: the file is read again, a still drained.
        let generation = try await s.generation()
        s.proxy.send(signal: SIGHUP)
        try await waitUntil("the SIGHUP reload is applied") { try await s.generation() > generation }
        var entry = try await s.backend(a.port) ?? [:]
        #expect(entry["admin_state"] as? String == "drain", "after SIGHUP: \(entry)")
        #expect(entry["state"] as? String == "draining", "after SIGHUP: \(entry)")
        #expect(try await s.answers(6) == Array(repeating: "b", count: 6))

        // A stop and a start on the same file: still drained, health checks going on, no requests.
        try await s.restart()
        try await waitUntil("b is usable after the restart") { try await s.backend(b.port).map(RollingBed.isUsable) == true }
        try await waitUntil("the health checks judge a after the restart") {
            try await s.backend(a.port)?["health"] as? String == "healthy"
        }
        entry = try await s.backend(a.port) ?? [:]
        #expect(entry["admin_state"] as? String == "drain", "after the restart: \(entry)")
        #expect(entry["state"] as? String == "draining", "after the restart: \(entry)")
        #expect(entry["effective_weight"] as? Int == 0, "after the restart: \(entry)")
        #expect(try await s.answers(10) == Array(repeating: "b", count: 10))
        #expect(try await a.counts().heads == heads, "a got requests while drained")
        let table = try await s.cutover(["status"])
        #expect(table.stdout.split(separator: "\n").contains { $0.contains(s.address(a.port)) && $0.contains("drain (healthy") }, "\(table.stdout)")
        let metrics = try await MetricsScrape.fetch(adminPort: s.adminPort, in: bed.directory)
        let labels = ["pool": "blue", "backend": s.address(a.port)]
        #expect(metrics.value("cutover_backend_admin_state", labels.merging(["state": "drain"]) { $1 }) == 1)
        #expect(metrics.value("cutover_backend_admin_state", labels.merging(["state": "active"]) { $1 }) == 0)
        #expect(metrics.value("cutover_backend_admin_state", ["pool": "blue", "backend": s.address(b.port), "state": "active"]) == 1)

        // enable, weight, remove: each verified, the file following.
        let enable = try await s.cutover(["backend", "enable", "blue", s.address(a.port)])
        #expect(enable.status == 0, "\(enable)")
        #expect(try await s.backend(a.port).map(RollingBed.isUsable) == true)
        #expect(Set(try await s.answers(6)) == ["a", "b"])
        #expect(try s.fileText() == s.original, "drain then enable should give the file back:\n\(s.text)")
        let weight = try await s.cutover(["backend", "weight", "blue", s.address(b.port), "3"])
        #expect(weight.status == 0, "\(weight)")
        #expect(try await s.backend(b.port)?["weight"] as? Int == 3)
        #expect(try s.fileText().contains("address: \(s.address(b.port)), weight: 3"), "\(s.text)")
        let remove = try await s.cutover(["backend", "remove", "blue", s.address(a.port)])
        #expect(remove.status == 0, "\(remove)")
        #expect(try s.filePorts() == [b.port])
        #expect(try await s.listedPorts() == [b.port])
        #expect(try s.linesLost(editing: [a.port, b.port]).isEmpty, "\(s.text)")
        // Not there any more: refused, the file as it was.
        let before = try s.fileText()
        let again = try await s.cutover(["backend", "remove", "blue", s.address(a.port)])
        #expect(again.status == 1, "\(again)")
        #expect(again.stderr.contains(s.address(a.port)), "\(again.stderr)")
        #expect(try s.fileText() == before)
        // The admin API unreachable: 2.
        let unreachable = try await s.cutover(["backend", "drain", "blue", s.address(b.port), "--admin", "127.0.0.1:\(try bed.refusingPort())"])
        #expect(unreachable.status == 2, "\(unreachable)")
        #expect(try s.fileText() == before)
    }

    @Test func anEditOfAFileThatDoesNotLoadIsRefusedAndTheFileLeftByteForByte() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let n = try await bed.backend("n")
        let s = try await RollingBed.start([a.port], in: bed)

        // Not YAML any more (an unclosed flow mapping): the CLI is told where the admin API is.
        let broken = s.original.replacingOccurrences(of: "pools: { blue: 100 }", with: "pools: { blue: 100")
        try broken.write(to: s.file, atomically: true, encoding: .utf8)
        let add = try await s.cutover(["backend", "add", "blue", s.address(n.port), "--admin", "127.0.0.1:\(s.adminPort)"])
        #expect(add.status == 1, "\(add)")
        #expect(add.stderr.contains("does not load"), "\(add.stderr)")
        #expect(try s.fileText() == broken)
        // With -c alone the CLI cannot read admin.listen from it either: it fails without touching the file.
        let alone = try await s.cutover(["backend", "add", "blue", s.address(n.port)])
        print("ROLLING-FIGURES add with -c on a file that is not YAML: \(alone)")
        #expect(alone.status != 0, "\(alone)")
        #expect(try s.fileText() == broken)

        // YAML, but not a valid config (an unknown key): the CLI finds the admin API, the proxy refuses.
        let invalid = s.original.replacingOccurrences(of: "workers: 1\n", with: "workers: 1\nworkerz: 2\n")
        try invalid.write(to: s.file, atomically: true, encoding: .utf8)
        let refused = try await s.cutover(["backend", "add", "blue", s.address(n.port)])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("workerz"), "the reason should name the bad key: \(refused.stderr)")
        #expect(try s.fileText() == invalid)
        #expect(try await s.listedPorts() == [a.port])
        #expect(try await s.answers(3) == ["a", "a", "a"])
    }

    @Test func concurrentAddsAllLandInTheFileOrAreRefusedNeverLost() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let s = try await RollingBed.start([a.port], in: bed)
        var extra: [Backend] = []
        for i in 0..<6 { extra.append(try await bed.backend("x\(i)")) }

        // Two CLI adds at once, three times over.
        var succeeded: Set<UInt16> = [a.port]
        for round in 0..<3 {
            let pair = [extra[2 * round], extra[2 * round + 1]]
            let children = try pair.map { try s.start(["backend", "add", "blue", s.address($0.port)]) }
            for (child, backend) in zip(children, pair) {
                let status = try await child.waitForExit(timeout: .seconds(30))
                if status == 0 {
                    succeeded.insert(backend.port)
                } else {
                    #expect(status == 1, "\(child.stdoutText) \(child.stderrText)")
                    #expect(child.stderrText.contains("changed on disk"), "refused for another reason: \(child.stderrText)")
                }
            }
            let inFile = Set(try s.filePorts())
            #expect(succeeded.isSubset(of: inFile), "round \(round): added but not in the file: \(succeeded.subtracting(inFile))")
            #expect(inFile.isSubset(of: succeeded), "round \(round): in the file but refused: \(inFile.subtracting(succeeded))")
        }
        print("ROLLING-FIGURES concurrent CLI adds: \(succeeded.count - 1) of 6 succeeded")
        #expect(try await s.listedPorts() == succeeded.sorted())
        #expect(try s.linesLost(editing: []).isEmpty, "\(s.text)")

        // Six API adds at once (nothing behind those addresses: only the edits matter here).
        let ports = try (0..<6).map { _ in try Ports.free() }
        let answers = try await withThrowingTaskGroup(of: (UInt16, HTTPResponse).self) { group in
            for port in ports {
                group.addTask { (port, try await s.admin("POST", "/backends/blue/add?address=\(s.address(port))")) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        let accepted = Set(answers.filter { $0.value.status == 200 }.keys)
        for (port, answer) in answers where answer.status != 200 {
            #expect(answer.status == 409 && answer.bodyText.contains("changed on disk"), "\(port): \(answer.status) \(answer.bodyText)")
        }
        print("ROLLING-FIGURES concurrent API adds: \(accepted.count) of 6 accepted")
        #expect(Set(try s.filePorts()) == succeeded.union(accepted), "\(s.text)")
        #expect(Set(try await s.listedPorts()) == succeeded.union(accepted))
        // Every generation an answer named is distinct: each edit was its own reload.
        let generations = answers.values.filter { $0.status == 200 }.compactMap { try? RollingBed.json($0)["generation"] as? Int }
        #expect(Set(generations).count == generations.count, "\(generations)")
    }
    @Test func anAddRacingAnotherWriterOfTheFileIsAppliedOrRefusedNeverLost() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let s = try await RollingBed.start([a.port], in: bed)
        // Someone else writes the file over and over (two versions, both without the added backends).
        let writer = FileRewriter(s.file, [s.original, s.original + "# edited by hand\n"])
        var applied = 0
        var refused = 0
        var lost: [String] = []
        for _ in 0..<40 {
            let port = try Ports.free()
            let answer = try await s.admin("POST", "/backends/blue/add?address=\(s.address(port))")
            if answer.status == 200 {
                applied += 1
                let changes = (try RollingBed.json(answer)["changes"] as? [String]) ?? []
                let running = try await s.backend(port) != nil
                if !changes.contains(where: { $0.contains(s.address(port)) && $0.contains("added") }) || !running {
                    lost.append("\(port): 200 with changes \(changes), \(running ? "listed" : "not listed") in /status")
                }
            } else {
                refused += 1
                #expect(answer.status == 409 && answer.bodyText.contains("changed on disk"), "\(answer.status) \(answer.bodyText)")
            }
        }
        let writes = writer.stop()
        print("ROLLING-FIGURES add racing another writer (\(writes) writes): \(applied) applied, \(refused) refused with 409, \(lost.count) answered 200 but not applied")
        #expect(lost.isEmpty, "adds answered 200 whose reload did not have them: \(lost.prefix(5))")
    }
}

/// The last moment a process was seen running, watched every 5 ms from a thread of its own.
final class ExitWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var last: UInt64 = 0
    private var running = true
    private let finished = DispatchSemaphore(value: 0)

    init(_ child: ChildProcess) {
        Thread { [self] in
            while lock.withLock({ running }) {
                let now = monotonicNanoseconds()
                if child.isRunning { lock.withLock { last = now } } else { break }
                usleep(5_000)
            }
            finished.signal()
        }.start()
    }

    func stop() -> UInt64 {
        lock.withLock { running = false }
        finished.wait()
        return lock.withLock { last }
    }
}

/// Looks at one backend's `/status` entry every 20 ms until stopped.
final class BackendWatcher: @unchecked Sendable {
    struct Look: @unchecked Sendable {
        var at: UInt64
        var entry: [String: Any]?
    }

    private let lock = NSLock()
    private var looks: [Look] = []
    private var task: Task<Void, Never>?

    init(_ s: RollingBed, port: UInt16) {
        task = Task { [self] in
            while !Task.isCancelled {
                if let entry = try? await s.backend(port) {
                    lock.withLock { looks.append(Look(at: monotonicNanoseconds(), entry: entry)) }
                } else {
                    lock.withLock { looks.append(Look(at: monotonicNanoseconds(), entry: nil)) }
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    func stop() async -> [Look] {
        task?.cancel()
        await task?.value
        return lock.withLock { looks }
    }
}

/// Writes the file again and again, cycling through `versions` (atomically: write and rename),
/// from a thread of its own until stopped.
final class FileRewriter: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var writes = 0
    private let finished = DispatchSemaphore(value: 0)

    init(_ file: URL, _ versions: [String]) {
        Thread { [self] in
            var index = 0
            while lock.withLock({ running }) {
                try? versions[index % versions.count].write(to: file, atomically: true, encoding: .utf8)
                index += 1
                lock.withLock { writes += 1 }
                usleep(500)
            }
            finished.signal()
        }.start()
    }

    /// Stops writing; how many writes there were. The file is left as the last write made it.
    func stop() -> Int {
        lock.withLock { running = false }
        finished.wait()
        return lock.withLock { writes }
    }
}

import Foundation
import Testing

/// `cutover roll POOL --replace OLD=NEW …` against the real binary: a rolling replacement under
/// load loses no request and never has fewer usable backends than at the start; a NEW that never
/// turns healthy stops the roll with the old backends serving; an interrupted roll run again
/// completes.
@Suite struct RollingRollTests {
    static let pool = RollingBed.check() + ["slow_start: 1s", "deregistration_delay: 3s"]

    @Test func threeBackendsReplacedUnderLoadWithoutAFailedRequestOrAMissingBackend() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        var olds: [Backend] = []
        var news: [Backend] = []
        for i in 1...3 { olds.append(try await bed.backend("old\(i)")) }
        for i in 1...3 { news.append(try await bed.backend("new\(i)")) }
        let s = try await RollingBed.start(olds.map(\.port), poolLines: Self.pool, in: bed)

        let load = try LoadGenerator.start(port: s.port, keepAlive: 2, fresh: 2, limit: .seconds(60), in: bed.directory)
        defer { load.kill() }
        try await waitUntil("the load reaches every old backend") {
            for b in olds where try await b.counts().heads < 20 { return false }
            return true
        }
        let sampler = UsableSampler(s)
        let replace = zip(olds, news).map { "\(s.address($0.port))=\(s.address($1.port))" }
        let rollStarted = monotonicNanoseconds()
        let (roll, took) = try await timed {
            try await s.cutover(["roll", "blue", "--replace"] + replace + ["--timeout", "20s"], timeout: .seconds(80))
        }
        let rollEnded = monotonicNanoseconds()
        // The new backends carry the load for a moment after the roll, then everything stops.
        let soFar = try await news.asyncMap { try await $0.counts().heads }
        try await waitUntil("each new backend takes more requests after the roll") {
            for (b, before) in zip(news, soFar) where try await b.counts().heads < before + 20 { return false }
            return true
        }
        let report = try await load.stop()
        let (looks, sampleErrors) = await sampler.stop()

        #expect(roll.status == 0, "\(roll)")
        let fewest = looks.map(\.usable).min() ?? -1
        let low = looks.filter { $0.usable < 3 }
        print("ROLLING-FIGURES roll under load: exit \(roll.status), took \(took), \(report.records.count) requests "
              + "(\(report.count(.keepAlive)) keep-alive, \(report.count(.fresh)) new-connection), \(report.failures.count) failed; "
              + "\(looks.count) /status looks, fewest usable \(fewest), looks under 3: \(low.count)")
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        #expect(report.count(.keepAlive) >= 100 && report.count(.fresh) >= 50, "\(report.outcomes)")
        #expect(looks.count >= 10, "only \(looks.count) looks at /status during the roll")
        #expect(sampleErrors.isEmpty, "\(sampleErrors.prefix(3))")
        #expect(fewest >= 3, "fewer than 3 usable backends: \(low.prefix(5).map { "\(milliseconds(rollStarted, $0.at)) ms: \($0.usable) usable [\($0.summary)]" })")

        // Every old backend took requests before, none after the roll returned.
        let afterwards = report.records.filter { $0.sent > rollEnded }
        let newNames = Set(news.map(\.name))
        #expect(afterwards.count >= 60 && afterwards.allSatisfy { newNames.contains($0.backend) },
                "requests sent after the roll answered by \(Set(afterwards.map(\.backend)))")
        for b in news { #expect(report.backends[b.name, default: 0] > 0, "\(b.name) got nothing: \(report.backends)") }

        // The file lists the three new backends, and nothing else of it changed.
        #expect(try s.filePorts().sorted() == news.map(\.port).sorted(), "\(s.text)")
        let lost = try s.linesLost(editing: (olds + news).map(\.port))
        #expect(lost.isEmpty, "lines of the file lost: \(lost)\n--- file now:\n\(s.text)")
        // /status agrees, and the new ones take their full share.
        try await waitUntil("/status lists the new backends only", timeout: .seconds(1)) {
            try await s.listedPorts() == news.map(\.port).sorted()
        }
        for b in try await s.backends() {
            #expect(RollingBed.isUsable(b), "\(b)")
            #expect(b["effective_weight"] as? Int == b["weight"] as? Int, "\(b)")
        }
        #expect(roll.stdout.contains("3 backend(s) replaced"), "\(roll.stdout)")
    }

    /// `--max-surge 2`: two NEW at once, still never fewer than three usable;
    /// `--max-surge 0 --max-unavailable 1`: an OLD out before its NEW is in, never fewer than two.
    @Test(arguments: [(surge: 2, unavailable: 0), (surge: 0, unavailable: 1)])
    func surgeAndUnavailableBoundTheUsableBackends(_ bounds: (surge: Int, unavailable: Int)) async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        var olds: [Backend] = []
        var news: [Backend] = []
        for i in 1...3 { olds.append(try await bed.backend("old\(i)")) }
        for i in 1...3 { news.append(try await bed.backend("new\(i)")) }
        let s = try await RollingBed.start(olds.map(\.port), poolLines: Self.pool, in: bed)
        let load = try LoadGenerator.start(port: s.port, keepAlive: 1, fresh: 1, limit: .seconds(60), in: bed.directory)
        defer { load.kill() }
        let sampler = UsableSampler(s)
        let replace = zip(olds, news).map { "\(s.address($0.port))=\(s.address($1.port))" }
        let (roll, took) = try await timed {
            try await s.cutover(["roll", "blue", "--replace"] + replace + ["--max-surge", "\(bounds.surge)",
                                 "--max-unavailable", "\(bounds.unavailable)", "--timeout", "20s"], timeout: .seconds(80))
        }
        let report = try await load.stop()
        let (looks, _) = await sampler.stop()
        let fewest = looks.map(\.usable).min() ?? -1
        let most = looks.map { $0.summary.split(separator: " ").count }.max() ?? -1
        print("ROLLING-FIGURES roll surge \(bounds.surge) unavailable \(bounds.unavailable): exit \(roll.status), took \(took), \(report.failures.count) of \(report.records.count) failed, fewest usable \(fewest), most listed \(most)")
        #expect(roll.status == 0, "\(roll)")
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        #expect(fewest >= 3 - bounds.unavailable, "\(looks.filter { $0.usable < 3 - bounds.unavailable }.prefix(3).map(\.summary))")
        // Never more than surge NEW on top of the three (a removed OLD may linger as draining).
        let configured = looks.map { look in look.summary.split(separator: " ").filter { !$0.contains(":-/") }.count }.max() ?? -1
        #expect(configured <= 3 + bounds.surge, "\(looks.filter { $0.summary.split(separator: " ").filter { !$0.contains(":-/") }.count > 3 + bounds.surge }.prefix(3).map(\.summary))")
        #expect(try s.filePorts().sorted() == news.map(\.port).sorted(), "\(s.text)")
        // The NEW ones took the OLD ones' weight (1) and take requests.
        for b in news { #expect(s.entryText(b.port).contains("weight: 0") == false, "\(s.text)") }
        try? await waitUntil("/status lists the new backends only", timeout: .seconds(1)) {
            try await s.listedPorts() == news.map(\.port).sorted()
        }
        for b in try await s.backends() { #expect(RollingBed.isUsable(b) && b["weight"] as? Int == 1, "after the roll: \(b)") }
        #expect(Set(try await s.answers(6)) == Set(news.map(\.name)))
    }

    /// A NEW address where nothing listens, or one answering 500 to the health check path.
    enum Broken: CustomStringConvertible, CaseIterable {
        case nothingListens, answers500
        var description: String { self == .nothingListens ? "nothing listens" : "answers 500" }
    }

    @Test(arguments: Broken.allCases)
    func aReplacementThatNeverTurnsHealthyStopsTheRollAndTheOldOnesServe(_ broken: Broken) async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let b = try await bed.backend("b")
        let newPort: UInt16
        switch broken {
        case .nothingListens: newPort = try bed.refusingPort()
        case .answers500: newPort = try await bed.failingBackend("broken", status: 500).port
        }
        // The check probes `/` here: the failing backend answers 500 to it (and 200 to /count).
        let s = try await RollingBed.start([a.port, b.port], poolLines: RollingBed.check(path: "/") + ["slow_start: 1s", "deregistration_delay: 3s"], in: bed)
        let load = try LoadGenerator.start(port: s.port, keepAlive: 1, fresh: 1, limit: .seconds(30), in: bed.directory)
        defer { load.kill() }
        let sampler = UsableSampler(s)

        let (roll, took) = try await timed {
            try await s.cutover(["roll", "blue", "--replace", "\(s.address(a.port))=\(s.address(newPort))", "--timeout", "2s"])
        }
        let report = try await load.stop()
        let (looks, _) = await sampler.stop()
        print("ROLLING-FIGURES roll with a NEW that \(broken): exit \(roll.status) after \(took), \(report.failures.count) of \(report.records.count) requests failed, fewest usable \(looks.map(\.usable).min() ?? -1)")

        #expect(roll.status == 1, "\(roll)")
        #expect(roll.stderr.contains(s.address(newPort)), "the reason should name the NEW backend: \(roll.stderr)")
        #expect(roll.stderr.contains("stopped"), "\(roll.stderr)")
        #expect(took >= .seconds(2), "the roll gave up after \(took), before its 2 s timeout")
        #expect(took < .seconds(15), "the roll took \(took) to give up")
        // The NEW is out of the file and the proxy; the old ones are there, active, serving.
        #expect(try s.filePorts() == [a.port, b.port], "\(s.text)")
        #expect(try s.fileText() == s.original, "the file is not back as it was:\n\(s.text)")
        try await waitUntil("/status no longer lists the NEW backend", timeout: .seconds(3)) {
            try await s.listedPorts() == [a.port, b.port].sorted()
        }
        for backend in try await s.backends() { #expect(RollingBed.isUsable(backend), "\(backend)") }
        #expect(Set(try await s.answers(6)) == ["a", "b"])
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        #expect((looks.map(\.usable).min() ?? 0) >= 2, "\(looks.filter { $0.usable < 2 }.prefix(3).map(\.summary))")
    }

    @Test func anInterruptedRollRunAgainCompletes() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let b = try await bed.backend("b")
        let d = try await bed.backend("d")
        // c's address: nothing listens there yet, so the roll waits for it.
        let cPort = try Ports.free()
        let s = try await RollingBed.start([a.port, b.port], poolLines: Self.pool, in: bed)
        let arguments = ["roll", "blue", "--replace", "\(s.address(a.port))=\(s.address(cPort))",
                         "\(s.address(b.port))=\(s.address(d.port))", "--timeout", "30s"]

        let first = try s.start(arguments)
        try await waitUntil("the roll has added c and waits for it", timeout: .seconds(10)) {
            if !first.isRunning { throw ChildFailure("the roll ended: \(first.stdoutText) \(first.stderrText)") }
            return try await s.backend(cPort) != nil
        }
        try await offPool { first.kill() }  // SIGKILL: no chance to tidy up
        #expect(try s.filePorts() == [a.port, b.port, cPort], "\(s.text)")
        let cEntry = try #require(try await s.backend(cPort))
        #expect(cEntry["state"] as? String != "healthy", "\(cEntry)")

        // c comes up; the same command again completes the roll.
        let c = try await restartBackend("c", port: cPort, in: bed.directory)
        bed.adopt(c)
        let load = try LoadGenerator.start(port: s.port, keepAlive: 1, fresh: 1, limit: .seconds(40), in: bed.directory)
        defer { load.kill() }
        let sampler = UsableSampler(s)
        let (again, took) = try await timed { try await s.cutover(arguments, timeout: .seconds(60)) }
        let report = try await load.stop()
        let (looks, _) = await sampler.stop()
        print("ROLLING-FIGURES interrupted roll run again: exit \(again.status) after \(took), \(report.failures.count) of \(report.records.count) failed, fewest usable \(looks.map(\.usable).min() ?? -1)")

        // An operator runs the same command once more, right away: nothing left to do.
        let third = try await s.cutover(arguments)
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("already in the pool"), "the second run should skip adding c: \(again.stdout)")
        #expect(third.status == 0, "the completed roll run again right away: \(third)")
        #expect(try s.filePorts().sorted() == [cPort, d.port].sorted(), "\(s.text)")
        #expect(try s.linesLost(editing: [a.port, b.port, cPort, d.port]).isEmpty, "\(s.text)")
        // A removed backend may be listed `draining` for a moment after its removal (nothing on it).
        try await waitUntil("/status lists c and d only", timeout: .seconds(1)) { try await s.listedPorts() == [cPort, d.port].sorted() }
        #expect(Set(try await s.answers(6)) == ["c", "d"])
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        // c was not ready at the start of the second run: two usable (a, b) from then on.
        #expect((looks.map(\.usable).min() ?? 0) >= 2, "\(looks.filter { $0.usable < 2 }.prefix(3).map(\.summary))")
    }
    @Test func aRollKilledWhileTheOldOneDrainsCompletesWhenRunAgain() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let c = try await bed.backend("c")
        // A 10 s delay: the drain ends when the slow request on a does.
        let s = try await RollingBed.start([a.port], poolLines: RollingBed.check() + ["slow_start: 1s", "deregistration_delay: 10s"], in: bed)
        let slowClient = try RawClient(port: s.port, timeout: .seconds(15))
        let slowSent = monotonicNanoseconds()
        try slowClient.send("GET /slow?ms=4000 HTTP/1.1\r\nHost: app\r\n\r\n")
        try await waitUntil("a has the slow request") { try await a.counts().heads == 1 }

        let arguments = ["roll", "blue", "--replace", "\(s.address(a.port))=\(s.address(c.port))", "--timeout", "30s"]
        let first = try s.start(arguments)
        try await waitUntil("the roll drains a", timeout: .seconds(10)) {
            if !first.isRunning { throw ChildFailure("the roll ended: \(first.stdoutText) \(first.stderrText)") }
            return try await s.backend(a.port)?["admin_state"] as? String == "drain"
        }
        try await offPool { first.kill() }
        #expect(milliseconds(slowSent, monotonicNanoseconds()) < 3500, "the kill came too late to mean anything")
        #expect(try s.filePorts() == [a.port, c.port], "\(s.text)")
        #expect(s.entryText(a.port).contains("state: drain"), "\(s.text)")
        #expect(try await s.answers(4) == Array(repeating: "c", count: 4))

        let again = try s.start(arguments)
        let watcher = ExitWatcher(again)
        let slow = try await slowClient.readResponse()
        let slowDone = monotonicNanoseconds()
        let status = try await again.waitForExit(timeout: .seconds(15))
        let lastRunning = watcher.stop()
        print("ROLLING-FIGURES roll killed while draining: slow request done \(milliseconds(slowSent, slowDone)) ms, second run last seen running \(milliseconds(slowSent, lastRunning)) ms after it was sent; exit \(status)")
        #expect(slow.status == 200 && slow.header("X-Backend") == "a", "\(slow.status) \(slow.bodyText)")
        #expect(status == 0, "\(again.stdoutText) \(again.stderrText)")
        #expect(again.stdoutText.contains("already in the pool"), "\(again.stdoutText)")
        #expect(milliseconds(slowSent, lastRunning) >= 3950, "the second run returned before the slow request on a finished")
        #expect(try s.filePorts() == [c.port], "\(s.text)")
        #expect(try s.linesLost(editing: [a.port, c.port]).isEmpty, "\(s.text)")
        let listed = try await s.backends()
        if try await s.listedPorts() != [c.port] { print("ROLLING-FIGURES /status right after the roll returned: \(listed)") }
        try await waitUntil("/status lists c only", timeout: .seconds(1)) { try await s.listedPorts() == [c.port] }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}

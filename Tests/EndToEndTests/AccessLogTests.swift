import Foundation
import Glibc
import Testing

/// The access log (`access_log: off | stdout | PATH`): one JSON line per answered request,
/// checked field by field against the traffic the test sent; destinations moved by reloads;
/// SIGUSR1 reopening the file after a rename; lines dropped and counted when nobody takes them.
@Suite struct AccessLogTests {
    /// A proxy on `web` (route `app` → pool `blue`), plus a listener whose pool only refuses
    /// (`dead`: 502) and one whose pool has no weight (`empty`: 503).
    struct Setup {
        let bed: TestBed
        let blue: Backend
        let refusing: UInt16
        let proxy: ProxyProcess
        let deadPort: UInt16
        let emptyPort: UInt16
        let adminPort: UInt16
        var log: URL { bed.directory.appendingPathComponent("access.log") }

        func config(accessLog: String?) -> ProxyConfig {
            var config = ProxyConfig(
                listeners: [.init(name: "web", port: proxy.port, route: "app"),
                            .init(name: "dead", port: deadPort, route: "deadroute"),
                            .init(name: "empty", port: emptyPort, route: "emptyroute")],
                routes: [("app", [("blue", 100)]), ("deadroute", [("gone", 100)]), ("emptyroute", [("zero", 100)])],
                pools: [.init(name: "blue", backends: [(blue.port, 1)]),
                        .init(name: "gone", backends: [(refusing, 1)]),
                        .init(name: "zero", backends: [(blue.port, 0)])])
                .withAdmin(port: adminPort)
            config.accessLog = accessLog
            return config
        }

        /// Rewrites the config, sends SIGHUP and waits until the proxy says it applied `generation`.
        func reload(accessLog: String?, generation: Int) async throws {
            try proxy.reload(config(accessLog: accessLog).yaml)
            try await waitUntil("the proxy reloads to generation \(generation)") {
                proxy.child.stderrText.contains("generation \(generation)\n")
            }
        }

        /// A counter of `/metrics`, read through promtool and the Python client's parser.
        func metric(_ name: String) async throws -> Int {
            let scrape = try await MetricsScrape.fetch(adminPort: adminPort, in: bed.directory)
            guard let value = scrape.value(name) else { throw ChildFailure("no \(name) in /metrics") }
            return Int(value)
        }
    }

    static func start(accessLog: String? = "access.log", workers: Int = 1) async throws -> Setup {
        let bed = try TestBed()
        let blue = try await bed.backend("blue")
        let refusing = try bed.refusingPort()
        let (port, dead, empty, admin) = (try Ports.free(), try Ports.free(), try Ports.free(), try Ports.free())
        var config = ProxyConfig(
            listeners: [.init(name: "web", port: port, route: "app"), .init(name: "dead", port: dead, route: "deadroute"),
                        .init(name: "empty", port: empty, route: "emptyroute")],
            routes: [("app", [("blue", 100)]), ("deadroute", [("gone", 100)]), ("emptyroute", [("zero", 100)])],
            pools: [.init(name: "blue", backends: [(blue.port, 1)]), .init(name: "gone", backends: [(refusing, 1)]),
                    .init(name: "zero", backends: [(blue.port, 0)])])
            .withAdmin(port: admin).with(workers: workers)
        config.accessLog = accessLog
        let proxy = try await bed.proxy(config)
        return Setup(bed: bed, blue: blue, refusing: refusing, proxy: proxy, deadPort: dead, emptyPort: empty, adminPort: admin)
    }

    /// Milliseconds since the epoch of an RFC 3339 UTC time with milliseconds, or nil.
    private func epochMilliseconds(_ text: String?) -> Double? {
        guard let text, text.count == 24, text.hasSuffix("Z") else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text).map { $0.timeIntervalSince1970 * 1000 }
    }

    @Test func eachAnsweredRequestIsOneLineWithItsFacts() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        let before = Date().timeIntervalSince1970 * 1000

        // A proxied GET, a HEAD, a POST with a body and a slow GET, pipelined two by two.
        let get = "GET /?q=%22x%22 HTTP/1.1\r\nHost: x\r\n\r\n"
        let head = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
        let body = String(repeating: "b", count: 1000)
        let post = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + body
        let slow = "GET /slow?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n"
        let client = try RawClient(port: s.proxy.port)
        try client.send(get + head)
        let getAnswer = try await client.readResponse()
        let headAnswer = try await client.readResponse(toHEAD: true)
        try client.send(post + slow)
        let postAnswer = try await client.readResponse()
        let slowAnswer = try await client.readResponse()
        // A malformed request (space before a colon), answered 400 by the proxy.
        let malformed = "GET /bad%00 HTTP/1.1\r\nHost: x\r\nX-Spaced : a\r\n\r\n"
        let bad = try RawClient(port: s.proxy.port)
        try bad.send(malformed)
        let badAnswer = try await bad.readResponse()
        // The proxy's own 502 (the pool's only backend refuses) and 503 (no backend has weight).
        let dead = try RawClient(port: s.deadPort)
        try dead.send("GET /d HTTP/1.1\r\nHost: x\r\n\r\n")
        let deadAnswer = try await dead.readResponse()
        let empty = try RawClient(port: s.emptyPort)
        try empty.send("DELETE /e HTTP/1.1\r\nHost: x\r\n\r\n")
        let emptyAnswer = try await empty.readResponse()
        #expect([getAnswer, headAnswer, postAnswer, slowAnswer, badAnswer, deadAnswer, emptyAnswer].map(\.status)
                == [200, 200, 200, 200, 400, 502, 503])

        let lines = try await AccessLogFile.waitForLines(at: s.log, count: 7)
        let after = Date().timeIntervalSince1970 * 1000
        #expect(lines.count == 7, "\(lines)")
        guard lines.count == 7 else { return }
        let (l1, l2, l3, l4, l400, l502, l503) = (lines[0], lines[1], lines[2], lines[3], lines[4], lines[5], lines[6])

        for line in lines {
            #expect(line.fields.count == 15, "\(line)")
            #expect(line.string("protocol") == "HTTP/1.1", "\(line)")
            let time = epochMilliseconds(line.string("time"))
            #expect(time != nil, "\(line)")
            #expect(time.map { $0 >= before.rounded(.down) - 1 && $0 <= after + 1 } == true, "\(line) not within the test")
            #expect(line.string("client") == "127.0.0.1")
            #expect(line.int("generation") == 1)
            let duration = line.seconds("duration") ?? -1
            #expect(duration >= 0 && duration < 5, "\(line)")
            if let upstream = line.seconds("upstream_duration") {
                #expect(upstream >= 0 && upstream <= duration, "\(line)")
            }
        }
        // The proxied ones, in the order they were answered, on one connection.
        let port = Int(client.localPort)
        #expect([l1, l2, l3, l4].map { $0.int("client_port") } == [port, port, port, port])
        #expect([l1, l2, l3, l4].map { $0.string("method") } == ["GET", "HEAD", "POST", "GET"])
        #expect([l1, l2, l3, l4].map { $0.string("target") } == ["/?q=%22x%22", "/", "/echo", "/slow?ms=200"])
        #expect([l1, l2, l3, l4].map { $0.int("status") } == [200, 200, 200, 200])
        #expect([l1, l2, l3, l4].map { $0.int("bytes_in") } == [get, head, post, slow].map { Optional($0.utf8.count) })
        #expect([l1, l2, l3, l4].map { $0.int("bytes_out") }
                == [getAnswer, headAnswer, postAnswer, slowAnswer].map { Optional($0.wireLength) })
        #expect(postAnswer.body.count == 1000 && headAnswer.body.isEmpty)
        for line in [l1, l2, l3, l4] {
            #expect(line.string("route") == "app" && line.string("pool") == "blue", "\(line)")
            #expect(line.string("backend") == "127.0.0.1:\(s.blue.port)", "\(line)")
            #expect(line.seconds("upstream_duration") != nil, "\(line)")
        }
        #expect((l4.seconds("duration") ?? 0) >= 0.2 && (l4.seconds("upstream_duration") ?? 0) >= 0.2, "\(l4)")

        // 400: its request line as sent, no pool, no backend, no upstream time; the proxy's own
        // answer's bytes out.
        #expect(l400.string("method") == "GET" && l400.string("target") == "/bad%00", "\(l400)")
        #expect(l400.int("status") == 400 && l400.int("client_port") == Int(bad.localPort))
        #expect(l400.int("bytes_in") == malformed.utf8.count && l400.int("bytes_out") == badAnswer.wireLength, "\(l400)")
        #expect(l400.string("route") == "app" && l400.isNull("pool") && l400.isNull("backend") && l400.isNull("upstream_duration"))

        // 502: the backend that failed is named; 503: no pool could take it.
        #expect(l502.string("target") == "/d" && l502.int("status") == 502 && l502.string("route") == "deadroute", "\(l502)")
        #expect(l502.string("pool") == "gone" && l502.string("backend") == "127.0.0.1:\(s.refusing)", "\(l502)")
        #expect(l502.int("bytes_out") == deadAnswer.wireLength)
        #expect(l503.string("method") == "DELETE" && l503.int("status") == 503 && l503.string("route") == "emptyroute", "\(l503)")
        #expect(l503.isNull("pool") && l503.isNull("backend") && l503.isNull("upstream_duration"), "\(l503)")
        #expect(l503.int("bytes_out") == emptyAnswer.wireLength)

        #expect(try await s.metric("cutover_access_log_lines_total") == 7)
        #expect(try await s.metric("cutover_access_log_dropped_total") == 0)
    }

    @Test func methodAndTargetAreEscapedAsJSON() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        // Raw UTF-8 and a byte that is not UTF-8 (the parser lets obs-text through), a quote
        // and a backslash: the line stays one valid JSON object.
        var request = Array("GET /caf\u{E9}/\"q\"\\".utf8)
        request += [0xFF]
        request += Array(" HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let client = try RawClient(port: s.proxy.port)
        try client.send(request)
        _ = try await client.readResponse()

        let lines = try await AccessLogFile.waitForLines(at: s.log, count: 1)
        #expect(lines.first?.string("target") == "/caf\u{E9}/\"q\"\\\u{FF}", "\(lines)")
        #expect(lines.first?.text.contains(#"/café/\"q\"\\\u00ff""#) == true, "\(lines)")
    }

    @Test func stdoutGetsTheLines() async throws {
        let s = try await Self.start(accessLog: "stdout")
        defer { s.bed.tearDown() }
        let answers = try await curlSequence(port: s.proxy.port, path: "/?stdout", count: 3, in: s.bed.directory)
        #expect(answers.map(\.status) == [200, 200, 200])
        var lines: [AccessLogLine] = []
        try await waitUntil("three lines on the proxy's stdout") {
            lines = try AccessLogFile.parse(s.proxy.child.stdoutText)
            return lines.count >= 3
        }
        #expect(lines.map { $0.string("target") } == ["/?stdout", "/?stdout", "/?stdout"])
        #expect(!FileManager.default.fileExists(atPath: s.log.path))
    }

    /// logrotate's `create` mode: the file is renamed, SIGUSR1 makes the proxy open a new one at
    /// the path; the renamed file keeps what was written before.
    @Test func sigusr1ReopensTheFileAfterARename() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        _ = try await curlSequence(port: s.proxy.port, path: "/before", count: 3, in: s.bed.directory)
        _ = try await AccessLogFile.waitForLines(at: s.log, count: 3)
        let rotated = s.bed.directory.appendingPathComponent("access.log.1")
        try FileManager.default.moveItem(at: s.log, to: rotated)

        s.proxy.child.send(signal: SIGUSR1)
        try await waitUntil("the proxy opens access.log again") { FileManager.default.fileExists(atPath: s.log.path) }
        _ = try await curlSequence(port: s.proxy.port, path: "/after", count: 2, in: s.bed.directory)

        let fresh = try await AccessLogFile.waitForLines(at: s.log, count: 2)
        #expect(fresh.map { $0.string("target") } == ["/after", "/after"])
        #expect(try AccessLogFile.lines(at: rotated).map { $0.string("target") } == ["/before", "/before", "/before"])
        #expect(s.proxy.child.isRunning)
        #expect(s.proxy.child.stderrText.contains("access log reopened"))
    }

    /// Reloads turn the log off and on and move it; each line carries the generation it was
    /// routed under, and lands where the log pointed when its request ended.
    @Test func reloadsMoveTheLogAndTurnItOffAndOn() async throws {
        let s = try await Self.start(accessLog: "a.log")
        defer { s.bed.tearDown() }
        let a = s.bed.directory.appendingPathComponent("a.log")
        let b = s.bed.directory.appendingPathComponent("logs-b.log")

        _ = try await curlSequence(port: s.proxy.port, path: "/one", count: 1, in: s.bed.directory)
        try await s.reload(accessLog: b.lastPathComponent, generation: 2)
        _ = try await curlSequence(port: s.proxy.port, path: "/two", count: 1, in: s.bed.directory)
        try await s.reload(accessLog: "off", generation: 3)
        _ = try await curlSequence(port: s.proxy.port, path: "/three", count: 1, in: s.bed.directory)
        try await s.reload(accessLog: b.lastPathComponent, generation: 4)
        _ = try await curlSequence(port: s.proxy.port, path: "/four", count: 1, in: s.bed.directory)

        // A clean stop writes out whatever is still queued: after it, the files are complete.
        s.proxy.child.send(signal: SIGTERM)
        #expect(try await s.proxy.child.waitForExit(timeout: .seconds(8)) == 0)
        let inA = try AccessLogFile.lines(at: a)
        let inB = try AccessLogFile.lines(at: b)
        #expect(inA.map { $0.string("target") } == ["/one"], "\(inA)")
        #expect(inA.map { $0.int("generation") } == [1])
        #expect(inB.map { $0.string("target") } == ["/two", "/four"], "\(inB)")
        #expect(inB.map { $0.int("generation") } == [2, 4])
    }

    @Test func aReloadToAFileThatCannotBeOpenedIsRejected() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        try s.proxy.reload(s.config(accessLog: "no-such-dir/access.log").yaml)
        try await waitUntil("the proxy rejects the reload") { s.proxy.child.stderrText.contains("reload rejected") }
        let stderr = s.proxy.child.stderrText
        let line = s.config(accessLog: "x").yaml.split(separator: "\n").count
        #expect(stderr.contains("\(s.proxy.configURL.path):\(line):13: access_log: cannot open no-such-dir/access.log: No such file or directory"), "\(stderr)")
        // The running log keeps working.
        _ = try await curlSequence(port: s.proxy.port, path: "/still", count: 1, in: s.bed.directory)
        let lines = try await AccessLogFile.waitForLines(at: s.log, count: 1)
        #expect(lines.map { $0.int("generation") } == [1])
    }

    /// Nobody reads the log (a FIFO with a reader that never reads): the writer thread blocks,
    /// the ring fills, and lines are dropped and counted — while every request is still answered.
    /// Once the reader drains the FIFO, written + dropped accounts for every request.
    @Test func aFullRingDropsLinesAndCountsThemWithoutHoldingRequests() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let fifo = bed.directory.appendingPathComponent("access.fifo")
        try #require(mkfifo(fifo.path, 0o600) == 0)
        // Opened first (non-blocking), so the proxy's open for writing finds a reader.
        let reader = open(fifo.path, O_RDONLY | O_NONBLOCK)
        try #require(reader >= 0)
        defer { close(reader) }

        let s = try await Self.start(accessLog: fifo.path)
        defer { s.bed.tearDown() }
        // Long targets make long lines: 600 of them are about 1.3 MiB, more than a pipe (64 KiB)
        // and a ring (1 MiB) hold together.
        let path = "/?" + String(repeating: "x", count: 2000)
        let requests = 600
        let answers = try await curlSequence(port: s.proxy.port, path: path, count: requests, in: s.bed.directory)
        #expect(answers.count == requests && answers.allSatisfy { $0.status == 200 })
        try await waitUntil("the proxy counts dropped lines") { try await s.metric("cutover_access_log_dropped_total") > 0 }

        // The reader catches up: the writer finishes its writes, and every request is accounted for.
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        try await waitUntil("written and dropped lines add up to \(requests)", timeout: .seconds(20)) {
            while true {
                let n = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                received += buffer[0..<n].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            }
            let written = try await s.metric("cutover_access_log_lines_total")
            let dropped = try await s.metric("cutover_access_log_dropped_total")
            return written + dropped == requests && received == written
        }
        let dropped = try await s.metric("cutover_access_log_dropped_total")
        #expect(dropped > 0 && dropped < requests)
    }
}

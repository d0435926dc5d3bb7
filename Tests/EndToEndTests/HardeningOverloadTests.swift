import Foundation
import Glibc
import Testing

/// Hardening, item 2: overload. At `limits.max_connections`, or out of file descriptors, the
/// connections beyond wait in the listen queue (neither reset nor answered) and are served once
/// others close; each episode is counted in `cutover_accept_pauses_total{reason}` and logged once.
@Suite(.serialized) struct HardeningOverloadTests {
    static let request = "GET / HTTP/1.1\r\nHost: app\r\n\r\n"

    /// Waits until the proxy has no client connection open (the start-up probe's is gone).
    static func waitForNoConnections(adminPort: UInt16, in directory: URL) async throws {
        try await waitUntil("no client connection is open", every: .milliseconds(50)) {
            try await MetricsScrape.fetch(adminPort: adminPort, in: directory).sum("cutover_connections_active") == 0
        }
    }

    @Test func atMaxConnectionsTheRestWaitAndAreServedWhenOthersClose() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let adminPort = try Ports.free()
        let proxy = try await bed.proxy(for: [a]) {
            $0.with(workers: 1).setting(limit: "max_connections", 3).withAdmin(port: adminPort)
        }
        try await Self.waitForNoConnections(adminPort: adminPort, in: bed.directory)

        var clients: [RawClient] = []
        for _ in 0..<6 {
            let client = try RawClient(port: proxy.port)
            try client.send(Self.request)
            clients.append(client)
        }
        try await waitUntil("three clients are answered") { readableClients(clients, within: .zero).count >= 3 }
        let answered = readableClients(clients, within: .zero)
        #expect(answered.count == 3, "answered: \(answered)")
        for i in answered {
            let response = try await clients[i].readResponse()
            #expect(response.status == 200)
            #expect(!response.announcesClose)
        }
        // The other three are connected (the kernel completed their handshakes) and wait: no
        // answer, no close, no reset.
        let waiting = clients.indices.filter { !answered.contains($0) }
        let stirred = readableClients(waiting.map { clients[$0] }, within: .milliseconds(500))
        #expect(stirred.isEmpty, "waiting clients \(stirred.map { waiting[$0] }) saw data, EOF or a reset")

        // Three close: the three waiting are accepted and answered.
        for i in answered { clients[i].shutdownWrite() }
        for i in waiting {
            let response = try await clients[i].readResponse()
            #expect(response.status == 200)
            #expect(!clients[i].sawReset)
        }
        for i in answered { #expect(try await clients[i].closesWithoutMoreData()) }

        let metrics = try await MetricsScrape.fetch(adminPort: adminPort, in: bed.directory)
        #expect(metrics.value("cutover_accept_pauses_total", ["reason": "max_connections"]) == 1, "\(metrics.text.split(separator: "\n").filter { $0.contains("accept_pauses") })")
        #expect(metrics.value("cutover_accept_pauses_total", ["reason": "descriptors"]) == 0)
        let warnings = lines(of: proxy.child.stderrText, containing: "limits.max_connections")
        #expect(warnings.count == 1, "\(warnings)")
        #expect(try await a.counts().heads == 6)
    }

    /// Started with RLIMIT_NOFILE a few descriptors above what it needs idle, the proxy gets more
    /// connections than it can take: it caps what it accepts at what ulimit -n leaves (a client
    /// and an upstream descriptor each, said at start) or, should it run out anyway, pauses on
    /// EMFILE; either way none is reset, every client is answered by the backend (none failed
    /// for want of a descriptor for its upstream connection), the episode is counted and logged
    /// once, and it serves new connections afterwards.
    @Test func outOfDescriptorsTheRestWaitAndAreServedWhenOthersClose() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let port = try Ports.free()
        let adminPort = try Ports.free()
        let config = ProxyConfig.http(port: port, backends: [a]).with(workers: 1).withAdmin(port: adminPort)

        // How many descriptors the proxy holds idle (after serving one request, so its upstream
        // connection is counted too), measured on a run without a limit.
        let probe = try await bed.proxy(config)
        try await Self.waitForNoConnections(adminPort: adminPort, in: bed.directory)
        let warm = try RawClient(port: port)
        try warm.send("GET / HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
        #expect(try await warm.readResponse().status == 200)
        try await Self.waitForNoConnections(adminPort: adminPort, in: bed.directory)
        let idle = openDescriptors(pid: probe.pid)
        probe.child.send(signal: SIGINT)
        try await probe.child.waitForExit(timeout: .seconds(5))

        // Room for about 10 client connections beyond that (each answered one also holds an
        // upstream connection for a moment); 40 clients.
        let limit = idle + 12
        let configURL = bed.directory.appendingPathComponent("cutover-nofile.yaml")
        try config.yaml.write(to: configURL, atomically: true, encoding: .utf8)
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/prlimit"),
                                     ["--nofile=\(limit):\(limit)", try CutoverBinary.url.path, "run", "-c", configURL.path],
                                     label: "cutover-nofile", in: bed.directory)
        bed.adopt(child)
        try await waitUntil("the limited proxy accepts connections") {
            if !child.isRunning { throw ChildFailure("cutover exited at start-up: \(child.stderrText)") }
            return Ports.isAccepting(port)
        }
        try await Self.waitForNoConnections(adminPort: adminPort, in: bed.directory)

        var clients: [RawClient] = []
        for _ in 0..<40 {
            let client = try RawClient(port: port)
            try client.send(Self.request)
            clients.append(client)
        }
        try await waitUntil("the proxy logs that it stopped accepting") {
            !lines(of: child.stderrText, containing: "out of file descriptors").isEmpty
                || !lines(of: child.stderrText, containing: "new connections wait in the listen queue").isEmpty
        }
        #expect(!lines(of: child.stderrText, containing: "ulimit -n is \(limit)").isEmpty, "the start-up warning about the descriptor budget")
        // Those it took are answered; the rest wait.
        var answered: [Int] = []
        var changed = ContinuousClock.now
        try await waitUntil("the accepted clients are answered (no new answer for 300 ms)") {
            let now = readableClients(clients, within: .zero)
            if now != answered { (answered, changed) = (now, .now) }
            return !answered.isEmpty && ContinuousClock.now - changed >= .milliseconds(300)
        }
        var first: [Int: Int] = [:]
        for i in answered {
            let response = try await clients[i].readResponse()
            first[response.status, default: 0] += 1
            #expect(!clients[i].sawReset)
        }
        let waiting = clients.indices.filter { !answered.contains($0) }
        #expect(!waiting.isEmpty, "all 40 were answered with RLIMIT_NOFILE \(limit) (\(idle) open idle)")
        let stirred = readableClients(waiting.map { clients[$0] }, within: .milliseconds(300))
        #expect(stirred.isEmpty, "waiting clients \(stirred.map { waiting[$0] }) saw data, EOF or a reset")

        // The answered ones close; the waiting ones are taken (retried every 100 ms) and answered,
        // closing as they go so each makes room for the next.
        for i in answered { clients[i].shutdownWrite() }
        var statuses: [Int: Int] = [:]
        for i in waiting {
            let response = try await clients[i].readResponse()
            statuses[response.status, default: 0] += 1
            #expect(!clients[i].sawReset, "client \(i) was reset")
            clients[i].shutdownWrite()
        }
        // Every one is answered by the backend: a client accepted with the last descriptors must
        // not be failed for want of one for its upstream connection.
        #expect(first == [200: answered.count], "the \(answered.count) clients taken at once: statuses \(first)")
        #expect(statuses == [200: waiting.count], "the \(waiting.count) waiting clients: statuses \(statuses)")
        for i in clients.indices { #expect(try await clients[i].closesWithoutMoreData()) }

        try await Self.waitForNoConnections(adminPort: adminPort, in: bed.directory)
        let metrics = try await MetricsScrape.fetch(adminPort: adminPort, in: bed.directory)
        let episodes = (metrics.value("cutover_accept_pauses_total", ["reason": "descriptors"]) ?? 0)
            + (metrics.value("cutover_accept_pauses_total", ["reason": "max_connections"]) ?? 0)
        #expect(episodes >= 1)
        let errors = lines(of: child.stderrText, containing: "out of file descriptors")
            + lines(of: child.stderrText, containing: "new connections wait in the listen queue")
        #expect(Double(errors.count) == episodes, "\(errors.count) log lines for \(episodes) episodes: \(errors)")
        // Out of descriptors is the proxy's shortage, not the backend's failure.
        let blamed = metrics.sum("cutover_upstream_errors_total", ["kind": "connect"])
        #expect(blamed == 0, "\(Int(blamed)) connect errors charged to backend a for the proxy's own descriptor shortage")

        // It still serves new connections.
        let after = try RawClient(port: port)
        try after.send("GET / HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
        #expect(try await after.readResponse().status == 200)
        print("HardeningOverload: RLIMIT_NOFILE \(limit) (\(idle) descriptors idle): of 40 clients \(answered.count) answered at once (statuses \(first)), \(waiting.count) waited, none reset, and were answered after (statuses \(statuses)); \(Int(episodes)) descriptor episode(s) counted, \(errors.count) logged")
    }
}

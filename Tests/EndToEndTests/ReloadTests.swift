import Foundation
import Glibc
import Testing

/// Scenario 12: SIGHUP applies a valid config and keeps the old one on an invalid config;
/// SIGTERM and SIGINT stop cleanly with exit status 0.
@Suite struct ReloadTests {
    static func blueGreen(port: UInt16, blue: Backend, green: Backend, split: (blue: Int, green: Int)) -> ProxyConfig {
        .http(port: port, split: [("blue", split.blue), ("green", split.green)], pools: [
            .init(name: "blue", backends: [(blue.port, 1)]),
            .init(name: "green", backends: [(green.port, 1)]),
        ])
    }

    func answeringBackend(_ proxy: ProxyProcess, _ bed: TestBed) async throws -> String {
        let exchange = try await curlSequence(port: proxy.port, count: 1, in: bed.directory)[0]
        return exchange.status == 200 ? exchange.backend : "status \(exchange.status)"
    }

    @Test func sighupSwitchesTheRouteFromBlueToGreen() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let green = try await bed.backend("green")
        let port = try Ports.free()
        let proxy = try await bed.proxy(Self.blueGreen(port: port, blue: blue, green: green, split: (100, 0)))
        let kept = try RawClient(port: port)
        try kept.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await kept.readResponse().bodyText == "blue")

        try proxy.reload(Self.blueGreen(port: port, blue: blue, green: green, split: (0, 100)).yaml)
        try await waitUntil("green answers") { try await answeringBackend(proxy, bed) == "green" }

        let after = try await curlSequence(port: port, count: 10, in: bed.directory)
        #expect(after.allSatisfy { $0.status == 200 && $0.backend == "green" }, "\(after)")
        // A keep-alive connection opened before the reload gets the new route for its next request.
        try kept.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await kept.readResponse().bodyText == "green")
        #expect(proxy.child.isRunning)
    }

    @Test func invalidConfigOnSighupKeepsTheOldConfigServing() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let green = try await bed.backend("green")
        let port = try Ports.free()
        let proxy = try await bed.proxy(Self.blueGreen(port: port, blue: blue, green: green, split: (100, 0)))

        // Green everywhere, but with a key the schema does not know on the last line.
        let valid = Self.blueGreen(port: port, blue: blue, green: green, split: (0, 100)).yaml
        let badLine = valid.split(separator: "\n").count + 1
        try proxy.reload(valid + "bogus_key: 1\n")
        try await waitUntil("the proxy logs the rejected reload") { proxy.child.stderrText.contains("reload rejected") }

        #expect(proxy.child.stderrText.contains("\(proxy.configURL.path):\(badLine):1: unknown key 'bogus_key'"),
                "\(proxy.child.stderrText)")
        let during = try await curlSequence(port: port, count: 10, in: bed.directory)
        #expect(during.allSatisfy { $0.status == 200 && $0.backend == "blue" }, "\(during)")
        #expect(proxy.child.isRunning)
        #expect(try await green.counts().heads == 0)

        // The failed reload left the reloader working: fixing the file and reloading applies it.
        try proxy.reload(valid)
        try await waitUntil("green answers") { try await answeringBackend(proxy, bed) == "green" }
    }

    @Test func sigtermLetsTheInFlightRequestFinishThenExitsZero() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])

        async let inFlight = bed.curl(["http://127.0.0.1:\(proxy.port)/slow?ms=1000", "-w", " %{http_code}"])
        try await waitUntil("the backend has the request") { try await blue.counts().heads == 1 }
        proxy.child.send(signal: SIGTERM)
        try await waitUntil("the listener is closed") { !Ports.isAccepting(proxy.port) }

        let result = try await inFlight
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.text == "slow 200")
        #expect(try await proxy.child.waitForExit(timeout: .seconds(3)) == 0)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func stopSignalWithAnIdleKeepAliveConnectionExitsZeroPromptly(signal: Int32) async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let idle = try RawClient(port: proxy.port)
        try idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await idle.readResponse().status == 200)

        let (status, elapsed) = try await timed {
            proxy.child.send(signal: signal)
            return try await proxy.child.waitForExit(timeout: .seconds(3))
        }

        #expect(status == 0)
        #expect(elapsed < .seconds(2), "exit took \(elapsed)")
        #expect(try await idle.closesWithoutMoreData())
    }
}

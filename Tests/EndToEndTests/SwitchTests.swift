import Foundation
import Testing

/// `cutover switch ROUTE POOL` against the real binary: the success path rewrites only the split
/// (comments and layout kept) and green answers afterwards; every failure (smoke test answering
/// 500, the target pool down, the admin API unreachable, an unknown pool, a reload the proxy
/// rejects) exits non-zero with the file byte for byte as it was and blue still serving.
@Suite struct SwitchTests {
    struct Setup {
        let bed: TestBed
        let proxy: ProxyProcess
        let adminPort: UInt16
        /// The config file as the switch found it.
        let text: String

        var file: URL { proxy.configURL }

        func fileText() throws -> String { try String(contentsOf: file, encoding: .utf8) }

        func cutover(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await CutoverBinary.run(arguments + ["-c", file.path], in: bed.directory, timeout: .seconds(40))
        }

        func backends(count: Int = 5) async throws -> [String] {
            try await curlSequence(port: proxy.port, count: count, in: bed.directory)
                .map { $0.status == 200 ? $0.backend : "status \($0.status)" }
        }

        /// The proxy's config generation, from /status.
        func generation() async throws -> Int {
            let status = try await cutover(["status", "--json"])
            let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            return try #require(json?["generation"] as? Int, "\(status)")
        }
    }

    static let split = "    pools: { blue: 100, green: 0 }\n"

    /// The route as an operator would write it: comments, a blank line, and the override the
    /// smoke test needs (left out when `override` is false).
    static func decorated(_ yaml: String, override: Bool) -> String {
        var route = "    # blue is live; green is the next release\n"
            + "    pools: { blue: 100, green: 0 }   # cutover switch app green\n"
        if override {
            route += "\n    override:   # lets cutover switch smoke-test the standby colour\n      header: X-Cutover-Pool\n"
        }
        return "# switch tests: this comment must survive\n" + yaml.replacingOccurrences(of: split, with: route)
    }

    /// Blue (live) and green (on `greenPort`, else a backend of its own) behind a proxy with an
    /// admin API, running the decorated file.
    static func start(greenPort: UInt16? = nil, override: Bool = true,
                      tls: ((TestBed) throws -> (cert: String, key: String))? = nil) async throws -> Setup {
        let bed = try TestBed()
        let blue = try await bed.backend("blue")
        var green = greenPort ?? 0
        if greenPort == nil { green = try await bed.backend("green").port }
        let adminPort = try Ports.free()
        let config = ProxyConfig.http(port: try Ports.free(), split: [("blue", 100), ("green", 0)], pools: [
            .init(name: "blue", backends: [(blue.port, 1)]),
            .init(name: "green", backends: [(green, 1)]),
        ]).withAdmin(port: adminPort)
            .terminatingTLS(try tls.map { [try $0(bed)] } ?? [])
        let proxy = try await bed.proxy(config)
        let text = decorated(config.yaml, override: override)
        let setup = Setup(bed: bed, proxy: proxy, adminPort: adminPort, text: text)
        try text.write(to: proxy.configURL, atomically: true, encoding: .utf8)
        let reload = try await setup.cutover(["reload"])
        guard reload.status == 0 else { throw ChildFailure("the decorated config did not load: \(reload)") }
        return setup
    }

    @Test func switchesToGreenKeepingCommentsThenBackWithARamp() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        #expect(try await s.backends() == Array(repeating: "blue", count: 5))

        let toGreen = try await s.cutover(["switch", "app", "green"])
        #expect(toGreen.status == 0, "\(toGreen)")
        #expect(toGreen.stdout.contains("route app: switched to green (blue 100 → 0, green 0 → 100), generation 3"), "\(toGreen.stdout)")
        #expect(toGreen.stdout.contains("smoke test: GET / via listener web"), "\(toGreen.stdout)")
        let green = s.text.replacingOccurrences(of: "{ blue: 100, green: 0 }", with: "{ blue: 0, green: 100 }")
        #expect(try s.fileText() == green)
        #expect(try await s.backends(count: 10) == Array(repeating: "green", count: 10))

        let back = try await s.cutover(["switch", "app", "blue", "--ramp", "1s"])
        #expect(back.status == 0, "\(back)")
        #expect(back.stdout.contains("route app: switched to blue (blue 0 → 100, green 100 → 0), ramp 1s, generation 4"), "\(back.stdout)")
        let blue = s.text.replacingOccurrences(of: "# cutover switch app green\n", with: "# cutover switch app green\n    ramp: 1s\n")
        #expect(try s.fileText() == blue)
        #expect(try await s.backends(count: 10) == Array(repeating: "blue", count: 10))
    }

    @Test func theSmokeTestGoesThroughATLSListenerWhenTheRouteHasNoPlainOne() async throws {
        let s = try await Self.start(tls: { bed in
            try TestSite.make(bed.certificates, "site", names: ["site.test"]).pair
        })
        defer { s.bed.tearDown() }
        let switched = try await s.cutover(["switch", "app", "green"])
        #expect(switched.status == 0, "\(switched)")
        #expect(switched.stdout.contains("smoke test: GET / via listener web"), "\(switched.stdout)")
        let answer = try await s.bed.curl(["-k", "https://127.0.0.1:\(s.proxy.port)/"])
        #expect(answer.text == "green", "\(answer.stderr)")
    }

    @Test func aSmokeTestAnswering500LeavesEverythingAsItWas() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        let result = try await s.cutover(["switch", "app", "green", "--smoke-path", "/status?code=500"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("smoke test of pool green failed"), "\(result.stderr)")
        #expect(result.stderr.contains("answered 500"), "\(result.stderr)")
        #expect(try s.fileText() == s.text)
        #expect(try await s.generation() == 2)
        #expect(try await s.backends() == Array(repeating: "blue", count: 5))
    }

    @Test func aTargetPoolThatRefusesConnectionsIsNotSwitchedTo() async throws {
        let bed = try TestBed()
        let s = try await Self.start(greenPort: try bed.refusingPort())
        defer { s.bed.tearDown(); bed.tearDown() }
        let result = try await s.cutover(["switch", "app", "green"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("answered 502"), "\(result.stderr)")
        #expect(try s.fileText() == s.text)
        #expect(try await s.backends() == Array(repeating: "blue", count: 5))
    }

    @Test func anUnreachableAdminAPILeavesTheFileAlone() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        let result = try await s.cutover(["switch", "app", "green", "--admin", "127.0.0.1:\(try s.bed.refusingPort())"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("cannot connect to the admin API"), "\(result.stderr)")
        #expect(try s.fileText() == s.text)
        #expect(try await s.backends() == Array(repeating: "blue", count: 5))
    }

    @Test func unknownPoolsAndRoutesAreRefused() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        let pool = try await s.cutover(["switch", "app", "purple"])
        #expect(pool.status == 1, "\(pool)")
        #expect(pool.stderr.contains("has no pool 'purple' (pools: blue, green)"), "\(pool.stderr)")
        let route = try await s.cutover(["switch", "shop", "green"])
        #expect(route.status == 1, "\(route)")
        #expect(route.stderr.contains("has no route 'shop'"), "\(route.stderr)")
        #expect(try s.fileText() == s.text)
    }

    @Test func aRejectedReloadPutsTheFileBackByteForByte() async throws {
        let s = try await Self.start()
        defer { s.bed.tearDown() }
        // Valid YAML, but the new listener's port is taken: the proxy binds it on reload and fails.
        let taken = try s.bed.refusingPort()
        let edited = s.text.replacingOccurrences(
            of: "routes:\n", with: "  - name: extra\n    listen: 127.0.0.1:\(taken)\n    route: app\nroutes:\n")
        try edited.write(to: s.file, atomically: true, encoding: .utf8)

        let result = try await s.cutover(["switch", "app", "green"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("rejected the reload"), "\(result.stderr)")
        #expect(result.stderr.contains("restored"), "\(result.stderr)")
        #expect(try s.fileText() == edited)
        #expect(try await s.backends() == Array(repeating: "blue", count: 5))
    }

    @Test func aRouteWithoutOverrideNeedsNoSmokeTestToSwitch() async throws {
        let s = try await Self.start(override: false)
        defer { s.bed.tearDown() }
        let refused = try await s.cutover(["switch", "app", "green"])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("has no 'override:'"), "\(refused.stderr)")
        #expect(try s.fileText() == s.text)

        let switched = try await s.cutover(["switch", "app", "green", "--no-smoke-test"])
        #expect(switched.status == 0, "\(switched)")
        #expect(try await s.backends() == Array(repeating: "green", count: 5))
    }
}

import Foundation
import Glibc
import Testing

/// `cutover demo`: its embedded configuration, its admin API, the built-in backends' faults, its
/// own traffic, and the temporary copy it runs. Every demo here runs on ports of its own: the
/// demo configuration with 8080, 9901, 9001 and 9002 replaced by free ones.
@Suite struct DemoTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func demoPrintConfigMatchesConfDemoYamlByteForByte() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let demo = try Data(contentsOf: Self.repository.appendingPathComponent("conf/demo.yaml"))

        let (status, stdout, _) = try await CutoverBinary.run(["demo", "--print-config"], in: bed.directory)

        #expect(status == 0)
        #expect(Data(stdout.utf8) == demo)
    }

    @Test func theDemoRunsWithItsAdminAPIAndItsOwnTraffic() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let demo = try await DemoProcess.start(in: bed, arguments: ["--traffic", "40"])

        // The proxy answers with blue, the live colour.
        let answer = try await bed.curl(["http://127.0.0.1:\(demo.ports.listener)/"])
        #expect(answer.text == "blue\n")

        // Its admin API answers, and `cutover status -c FILE` finds it through the file.
        let status = try await bed.curl(["-w", "\n%{http_code}", "http://127.0.0.1:\(demo.ports.admin)/status"])
        #expect(status.lines.last == "200", "\(status.text)")
        let (code, table, stderr) = try await CutoverBinary.run(["status", "-c", demo.file.path], in: bed.directory)
        #expect(code == 0, "\(stderr)")
        #expect(table.contains("app") && table.contains("127.0.0.1:\(demo.ports.blue)"), "\(table)")

        // Its own traffic reaches blue through the proxy, with no 5xx.
        try await waitUntil("the demo's traffic has reached blue 20 times", timeout: .seconds(10), every: .milliseconds(200)) {
            try await demo.backendRequests(bed)["blue"] ?? 0 >= 20
        }
        #expect(try await demo.backendRequests(bed)["green"] == 0)

        // The walkthrough names this file, and shows status, switch, both rollouts and the fault.
        let banner = demo.child.stdoutText
        let file = demo.file.path
        #expect(banner.contains("status -c \(file)"), "\(banner)")
        #expect(banner.contains("switch app green -c \(file)"), "\(banner)")
        #expect(banner.contains("switch app blue -c \(file)"), "\(banner)")
        #expect(banner.contains("rollout start app green --wait -c \(file)"), "\(banner)")
        #expect(banner.contains("curl -X POST 'http://127.0.0.1:\(demo.ports.blue)/_demo/fault?errors=20'"), "\(banner)")
        #expect(banner.contains("rollout start app blue --wait -c \(file)"), "\(banner)")
        // Green comes before blue: after the green rollout, blue is the standby that fails.
        let green = try #require(banner.range(of: "rollout start app green"))
        let blue = try #require(banner.range(of: "rollout start app blue"))
        #expect(green.lowerBound < blue.lowerBound)

        // Ctrl-C stops it cleanly.
        demo.child.send(signal: SIGINT)
        #expect(try await demo.child.waitForExit(timeout: .seconds(15)) == 0)
    }

    @Test func aBackendFailsTheGivenShareOfRequestsAddsTheDelayAndHeals() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        // Green takes no traffic (split 0, --traffic 0), so every request it counts is the test's.
        let demo = try await DemoProcess.start(in: bed, arguments: ["--traffic", "0", "--fail", "green=10", "--delay", "green=5"])
        let green = "http://127.0.0.1:\(demo.ports.green)"

        // The flags set the fault at start; GET shows it.
        let initial = try await bed.curl(["\(green)/_demo/fault"])
        #expect(try Fault(initial.stdout) == Fault(errors: 10, delay: 5), "\(initial.text)")

        // 20 %: exactly 20 of 100 requests answer 500 (spread evenly: every fifth).
        let set = try await bed.curl(["-X", "POST", "\(green)/_demo/fault?errors=20"])
        #expect(try Fault(set.stdout) == Fault(errors: 20, delay: 0), "\(set.text)")
        let statuses = try await curlSequence(port: demo.ports.green, count: 100, in: bed.directory).map(\.status)
        #expect(statuses.filter { $0 == 500 }.count == 20)
        #expect(statuses.filter { $0 == 200 }.count == 80)
        #expect(statuses.enumerated().allSatisfy { ($0.offset % 5 == 4) == ($0.element == 500) })
        // Through the proxy, pinned to green with the override header, the 500s show too.
        let pinned = try await curlSequence(port: demo.ports.listener, count: 10, in: bed.directory,
                                            extra: ["-H", "X-Cutover-Pool: green"]).map(\.status)
        #expect(pinned.filter { $0 == 500 }.count == 2, "\(pinned)")

        // A delay: every answer waits, the 500s too.
        _ = try await bed.curl(["-X", "POST", "\(green)/_demo/fault?errors=50&delay_ms=300"])
        let slow = try await bed.curl(["-w", "%{http_code} %{time_total}\\n", "-o", "/dev/null", "\(green)/", "-o", "/dev/null", "\(green)/"])
        let timings = slow.lines.map { $0.split(separator: " ") }
        #expect(timings.map { String($0[0]) }.sorted() == ["200", "500"], "\(slow.text)")
        #expect(timings.allSatisfy { Double($0[1])! >= 0.3 }, "\(slow.text)")

        // No parameters: healed; every answer is 200 again, at once.
        let healed = try await bed.curl(["-X", "POST", "\(green)/_demo/fault"])
        #expect(try Fault(healed.stdout) == Fault(errors: 0, delay: 0), "\(healed.text)")
        let (after, took) = try await timed { try await curlSequence(port: demo.ports.green, count: 50, in: bed.directory).map(\.status) }
        #expect(after == Array(repeating: 200, count: 50))
        #expect(took < .seconds(5))

        // Bad parameters are refused and change nothing.
        let bad = try await bed.curl(["-w", "\n%{http_code}", "-X", "POST", "\(green)/_demo/fault?errors=150"])
        #expect(bad.lines.last == "400", "\(bad.text)")
        let shown = try await bed.curl(["\(green)/_demo/fault"])
        #expect(try Fault(shown.stdout) == Fault(errors: 0, delay: 0))
    }

    @Test func withoutAConfigFileTheDemoRunsATemporaryCopyAndLeavesTheCheckoutAlone() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        // A checkout's conf/demo.yaml (on free ports) in the directory the demo starts in.
        let ports = try DemoPorts()
        let conf = bed.directory.appendingPathComponent("conf", isDirectory: true)
        try FileManager.default.createDirectory(at: conf, withIntermediateDirectories: true)
        let checkout = conf.appendingPathComponent("demo.yaml")
        let original = try ports.rewrite(String(contentsOf: Self.repository.appendingPathComponent("conf/demo.yaml"), encoding: .utf8))
        try original.write(to: checkout, atomically: true, encoding: .utf8)

        let child = try ChildProcess(try CutoverBinary.url, ["demo", "--traffic", "0"], label: "cutover-demo", in: bed.directory)
        bed.adopt(child)
        try await waitUntil("the demo prints its walkthrough") {
            if !child.isRunning { throw ChildFailure("cutover demo exited at start-up: \(child.stderrText)") }
            return child.stdoutText.contains("Ctrl-C")
        }
        let banner = child.stdoutText
        let line = try #require(banner.split(separator: "\n").first { $0.contains(" status -c ") }, "\(banner)")
        let copy = String(try #require(line.split(separator: " ").last))
        #expect(copy.hasSuffix("/demo.yaml") && !copy.hasPrefix(bed.directory.path), "\(copy)")
        #expect(banner.contains("a copy of conf/demo.yaml"), "\(banner)")

        // The walkthrough's switch rewrites the copy, not the checkout.
        let (code, out, err) = try await CutoverBinary.run(["switch", "app", "green", "-c", copy], in: bed.directory)
        #expect(code == 0, "\(out)\(err)")
        let answer = try await bed.curl(["http://127.0.0.1:\(ports.listener)/"])
        #expect(answer.text == "green\n")
        #expect(try String(contentsOf: URL(fileURLWithPath: copy), encoding: .utf8).contains("{ blue: 0, green: 100 }"))
        #expect(try String(contentsOf: checkout, encoding: .utf8) == original)

        // The copy's directory goes with the demo.
        child.send(signal: SIGINT)
        #expect(try await child.waitForExit(timeout: .seconds(15)) == 0)
        #expect(!FileManager.default.fileExists(atPath: (copy as NSString).deletingLastPathComponent))
    }
}

/// Free ports for a demo, and the demo configuration moved onto them.
struct DemoPorts {
    let listener: UInt16, admin: UInt16, blue: UInt16, green: UInt16

    init() throws {
        listener = try Ports.free()
        admin = try Ports.free()
        blue = try Ports.free()
        green = try Ports.free()
    }

    func rewrite(_ yaml: String) throws -> String {
        var text = yaml
        for (from, to) in [(8080, listener), (9901, admin), (9001, blue), (9002, green)] {
            let old = "127.0.0.1:\(from)"
            guard text.contains(old) else { throw ChildFailure("the demo configuration has no \(old)") }
            text = text.replacingOccurrences(of: old, with: "127.0.0.1:\(to)")
        }
        return text
    }
}

/// `cutover demo -c FILE`, FILE being the embedded configuration on free ports.
struct DemoProcess {
    let child: ChildProcess
    let file: URL
    let ports: DemoPorts

    static func start(in bed: TestBed, arguments: [String]) async throws -> DemoProcess {
        let (status, embedded, stderr) = try await CutoverBinary.run(["demo", "--print-config"], in: bed.directory)
        guard status == 0 else { throw ChildFailure("cutover demo --print-config: \(stderr)") }
        let ports = try DemoPorts()
        let file = bed.directory.appendingPathComponent("demo.yaml")
        try ports.rewrite(embedded).write(to: file, atomically: true, encoding: .utf8)
        let child = try ChildProcess(try CutoverBinary.url, ["demo", "-c", file.path] + arguments,
                                     label: "cutover-demo", in: bed.directory)
        bed.adopt(child)
        try await waitUntil("the demo accepts connections") {
            if !child.isRunning { throw ChildFailure("cutover demo exited at start-up: \(child.stderrText)") }
            return [ports.listener, ports.admin, ports.blue, ports.green].allSatisfy(Ports.isAccepting)
                && child.stdoutText.contains("Ctrl-C")
        }
        return DemoProcess(child: child, file: file, ports: ports)
    }

    /// Requests each pool's backend answered, from the admin API's /status.
    func backendRequests(_ bed: TestBed) async throws -> [String: Int] {
        let result = try await bed.curl(["http://127.0.0.1:\(ports.admin)/status"])
        let json = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let pools = json?["pools"] as? [[String: Any]] ?? []
        var requests: [String: Int] = [:]
        for pool in pools {
            let backends = pool["backends"] as? [[String: Any]] ?? []
            requests[pool["name"] as? String ?? "?"] = backends.compactMap { $0["requests"] as? Int }.reduce(0, +)
        }
        return requests
    }
}

/// The JSON of GET /_demo/fault.
struct Fault: Equatable {
    var errors: Double
    var delay: Int

    init(errors: Double, delay: Int) {
        self.errors = errors
        self.delay = delay
    }

    init(_ data: Data) throws {
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let errors = (json["errors"] as? NSNumber)?.doubleValue, let delay = json["delay_ms"] as? Int
        else { throw ChildFailure("not the fault JSON: \(String(decoding: data, as: UTF8.self))") }
        self.errors = errors
        self.delay = delay
    }
}

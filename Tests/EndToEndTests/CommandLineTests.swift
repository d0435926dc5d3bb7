import Foundation
import Testing

/// Scenario 13: `cutover check` (`cutover demo --print-config`: see DemoTests).
@Suite struct CommandLineTests {
    @Test func checkPrintsThePlanOfAValidConfigAndExitsZero() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let file = bed.directory.appendingPathComponent("valid.yaml")
        let config = ProxyConfig.http(port: 18080, split: [("blue", 3), ("green", 1)], pools: [
            .init(name: "blue", backends: [(19001, 3), (19002, 1)]),
            .init(name: "green", backends: [(19101, 1)]),
        ])
        try config.yaml.write(to: file, atomically: true, encoding: .utf8)

        let (status, stdout, stderr) = try await CutoverBinary.run(["check", "-c", file.path], in: bed.directory)

        #expect(status == 0, "\(stderr)")
        let lines = stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("  web: 127.0.0.1:18080 http -> route app, tls: no"), "\(stdout)")
        #expect(lines.contains { $0.hasPrefix("  app: blue 75%, green 25%") }, "\(stdout)")
        #expect(lines.contains("    backend 127.0.0.1:19001 weight 3"), "\(stdout)")
        #expect(lines.contains("    backend 127.0.0.1:19002 weight 1"), "\(stdout)")
        #expect(lines.contains("    backend 127.0.0.1:19101 weight 1"), "\(stdout)")
        #expect(lines.last == "\(file.path): OK")
    }

    @Test func checkReportsAnUnknownKeyWithFileLineAndColumn() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let file = bed.directory.appendingPathComponent("invalid.yaml")
        try """
        workers: 1
        listeners:
          - name: web
            listen: 127.0.0.1:18080
            route: app
        routes:
          app:
            pools: { blue: 100 }
        pools:
          blue:
            backends:
              - { address: 127.0.0.1:19001 }
        timeouts:
          conect: 1s

        """.write(to: file, atomically: true, encoding: .utf8)

        let (status, stdout, stderr) = try await CutoverBinary.run(["check", "-c", file.path], in: bed.directory)

        #expect(status == 1)
        #expect(stdout.isEmpty, "\(stdout)")
        let first = stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("\(file.path):14:3: "), "\(stderr)")
        #expect(first.contains("unknown key 'conect'"), "\(stderr)")
    }

    @Test func checkOfAMissingFileFails() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let file = bed.directory.appendingPathComponent("absent.yaml")

        let (status, _, stderr) = try await CutoverBinary.run(["check", "-c", file.path], in: bed.directory)

        #expect(status == 1)
        #expect(stderr.contains(file.path), "\(stderr)")
    }
}

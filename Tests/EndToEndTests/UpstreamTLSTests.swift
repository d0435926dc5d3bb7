import Foundation
import TestCertificates
import Testing

/// Issue 6: a pool with `tls: { verify, ca, sni }` speaks TLS to its backends (Python `ssl`
/// servers here): the chain and the name are verified, SNI is sent, connections are pooled like
/// plain ones, and a backend that fails verification is a failed connect (retried elsewhere, 502
/// when none is left).
@Suite struct UpstreamTLSTests {
    static func config(port: UInt16, backends: [Backend], tls: String) -> ProxyConfig {
        ProxyConfig.http(port: port, backends: backends).adding(pool: "blue", lines: ["tls: \(tls)"])
    }

    @Test func theBackendIsVerifiedAgainstTheCAAndGetsTheSNIAndConnectionsAreReused() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let site = try TestSite.make(bed.certificates, "backend", names: ["backend.test"])
        let blue = try await bed.tlsBackend("blue", certificate: site.certificate)
        let proxy = try await bed.proxy(Self.config(port: try Ports.free(), backends: [blue],
            tls: "{ verify: true, ca: \"\(site.authority.certificateFile.path)\", sni: backend.test }"))

        let result = try await bed.curl(["-w", "%{http_code} %header{x-tls-sni} %header{x-conn}\\n",
                                         "http://127.0.0.1:\(proxy.port)/", "-o", "/dev/null",
                                         "http://127.0.0.1:\(proxy.port)/", "-o", "/dev/null",
                                         "http://127.0.0.1:\(proxy.port)/", "-o", "/dev/null"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = result.lines
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.hasPrefix("200 backend.test ") }, "\(lines)")
        #expect(Set(lines).count == 1, "one pooled upstream connection for all three: \(lines)")
    }

    @Test func withoutSNIItVerifiesTheBackendsAddress() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let site = try TestSite.make(bed.certificates, "backend", names: ["127.0.0.1"])
        let blue = try await bed.tlsBackend("blue", certificate: site.certificate)
        let proxy = try await bed.proxy(Self.config(port: try Ports.free(), backends: [blue],
            tls: "{ ca: \"\(site.authority.certificateFile.path)\" }"))

        let result = try await bed.curl(["-w", " %{http_code} %header{x-tls-sni}", "http://127.0.0.1:\(proxy.port)/"])
        // No SNI for an address (SNI carries host names only); the IP SAN is what was checked.
        #expect(result.text == "blue 200 -", "\(result.stderr)")
    }

    @Test func aBackendFailingVerificationIsAFailedConnect() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let trusted = try TestSite.make(bed.certificates, "trusted", names: ["backend.test"])
        let stranger = try TestSite.make(bed.certificates, "stranger", names: ["backend.test"])
        let good = try await bed.tlsBackend("good", certificate: trusted.certificate)
        let bad = try await bed.tlsBackend("bad", certificate: stranger.certificate)
        let tls = "{ verify: true, ca: \"\(trusted.authority.certificateFile.path)\", sni: backend.test }"

        // Alone, the untrusted backend gets a 502.
        let alone = try await bed.proxy(Self.config(port: try Ports.free(), backends: [bad], tls: tls))
        let refused = try await bed.curl(["-w", "%{http_code}", "-o", "/dev/null", "http://127.0.0.1:\(alone.port)/"])
        #expect(refused.text == "502")

        // Next to a trusted one, every request is retried there, as after a refused connect.
        let both = try await bed.proxy(Self.config(port: try Ports.free(), backends: [bad, good], tls: tls))
        let answers = try await curlSequence(port: both.port, count: 6, in: bed.directory)
        #expect(answers.allSatisfy { $0.status == 200 && $0.backend == "good" }, "\(answers)")

        // Without verification the stranger is accepted.
        let lax = try await bed.proxy(Self.config(port: try Ports.free(), backends: [bad], tls: "{ verify: false }"))
        let accepted = try await bed.curl(["-w", " %{http_code}", "http://127.0.0.1:\(lax.port)/"])
        #expect(accepted.text == "bad 200")
    }

    @Test func bodiesAndTunnelsCrossTLSOnBothSides() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let backendSite = try TestSite.make(bed.certificates, "backend", names: ["backend.test"])
        let frontSite = try TestSite.make(bed.certificates, "front", names: ["site.test"])
        let blue = try await bed.tlsBackend("blue", certificate: backendSite.certificate)
        let config = Self.config(port: try Ports.free(), backends: [blue],
            tls: "{ ca: \"\(backendSite.authority.certificateFile.path)\", sni: backend.test }").terminatingTLS([frontSite.pair])
        let proxy = try await bed.proxy(config)
        let input = bed.directory.appendingPathComponent("upload.bin")
        let output = bed.directory.appendingPathComponent("echoed.bin")
        let sent = BodyTests.payload(2_000_000)
        try sent.write(to: input)

        let echoed = try await bed.curl(["--cacert", frontSite.authority.certificateFile.path,
                                         "--resolve", "site.test:\(proxy.port):127.0.0.1",
                                         "https://site.test:\(proxy.port)/echo", "--data-binary", "@\(input.path)",
                                         "-o", output.path, "-w", "%{http_code}"])
        #expect(echoed.text == "200", "\(echoed.stderr)")
        #expect(try Data(contentsOf: output) == sent)

        let terminal = try TLSTerminal(port: proxy.port, serverName: "site.test", trusting: frontSite.authority, in: bed.directory)
        defer { terminal.close() }
        terminal.send("GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        try await terminal.waitFor("HTTP/1.1 101")
        terminal.send("both ways encrypted")
        try await terminal.waitFor("BOTH WAYS ENCRYPTED")
    }

    @Test func httpHealthChecksSpeakTLSAndFailOnAnUntrustedCertificate() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let trusted = try TestSite.make(bed.certificates, "trusted", names: ["backend.test"])
        let stranger = try TestSite.make(bed.certificates, "stranger", names: ["backend.test"])
        let good = try await bed.tlsBackend("good", certificate: trusted.certificate)
        let bad = try await bed.tlsBackend("bad", certificate: stranger.certificate)
        let lines = ["tls: { ca: \"\(trusted.authority.certificateFile.path)\", sni: backend.test }"]
            + BackendHealthTests.check(interval: "200ms", timeout: "500ms", rise: 1, fall: 1)
        let s = try await LifecycleBed.start([(good.port, 1), (bad.port, 1)], poolLines: lines, in: bed)

        try await waitUntil("the trusted backend passes its check over TLS, the other fails it") {
            [try await s.state(good.port), try await s.state(bad.port)] == ["healthy", "unhealthy"]
        }
        let answers = try await curlSequence(port: s.port, count: 4, in: bed.directory)
        #expect(answers.allSatisfy { $0.status == 200 && $0.backend == "good" }, "\(answers)")
    }

    @Test func anUnreadableCAFileIsAConfigErrorNamingIt() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let missing = bed.directory.appendingPathComponent("nope-ca.crt").path
        let yaml = Self.config(port: try Ports.free(), backends: [blue], tls: "{ ca: \"\(missing)\" }").yaml
        let file = bed.directory.appendingPathComponent("ca.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let run = try await CutoverBinary.run(["run", "-c", file.path], in: bed.directory)
        #expect(run.status == 1)
        #expect(run.stderr.contains("pool 'blue': cannot read CA file \(missing): No such file or directory"), "\(run.stderr)")
    }
}

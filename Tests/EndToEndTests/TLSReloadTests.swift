import Foundation
import Glibc
import TestCertificates
import Testing

/// Issue 6: certificates reload with the config. New handshakes get the new certificate while
/// open connections continue on theirs; a file that cannot be loaded rejects the reload (the old
/// certificates keep serving) and stops a start-up, naming the file.
@Suite struct TLSReloadTests {
    /// Two certificates for site.test from one authority, told apart by their common names.
    struct Pair {
        let authority: TestCertificate
        let first: TestCertificate
        let second: TestCertificate
        /// The paths the config names; the tests copy `first` or `second` there.
        let cert: URL
        let key: URL

        init(_ bed: TestBed) throws {
            let factory = bed.certificates
            authority = try factory.authority("ca")
            first = try factory.certificate("first", commonName: "first", names: ["site.test"], issuer: authority)
            second = try factory.certificate("second", commonName: "second", names: ["site.test"], issuer: authority)
            cert = bed.directory.appendingPathComponent("live.crt")
            key = bed.directory.appendingPathComponent("live.key")
            try install(first)
        }

        /// Puts `certificate` at the configured paths (a renewal, as certbot would do it).
        func install(_ certificate: TestCertificate) throws {
            try Data(contentsOf: certificate.certificateFile).write(to: cert)
            try Data(contentsOf: certificate.keyFile).write(to: key)
        }
    }

    func config(port: UInt16, blue: Backend, pair: Pair, admin: UInt16? = nil) -> ProxyConfig {
        var config = ProxyConfig.http(port: port, backends: [blue]).terminatingTLS([(pair.cert.path, pair.key.path)])
        if let admin { config = config.withAdmin(port: admin) }
        return config
    }

    func servedName(_ proxy: ProxyProcess, _ bed: TestBed) async throws -> String? {
        try await sClient(port: proxy.port, ["-servername", "site.test"], in: bed.directory).commonName
    }

    @Test func aReloadSwapsTheCertificateWhileAnOpenConnectionKeepsWorking() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let pair = try Pair(bed)
        let config = config(port: try Ports.free(), blue: blue, pair: pair)
        let proxy = try await bed.proxy(config)

        let open = try TLSTerminal(port: proxy.port, serverName: "site.test", trusting: pair.authority, in: bed.directory)
        defer { open.close() }
        open.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try await open.waitFor("HTTP/1.1 200")
        #expect(open.report.commonName == "first")
        let session = bed.directory.appendingPathComponent("session.pem").path
        _ = try await sClient(port: proxy.port, ["-servername", "site.test", "-sess_out", session], in: bed.directory,
                              awaiting: session)

        try pair.install(pair.second)
        try proxy.reload(config.yaml)
        try await waitUntil("new handshakes get the second certificate") { try await servedName(proxy, bed) == "second" }

        // The connection made before the reload still works, with the certificate it started with.
        open.send("GET /headers HTTP/1.1\r\nHost: x\r\n\r\n")
        try await open.waitFor("HTTP/1.1 200", count: 2)
        #expect(open.report.commonName == "first")
        // A session from before the reload resumes after it: the ticket keys outlive the contexts.
        let resumed = try await sClient(port: proxy.port, ["-servername", "site.test", "-sess_in", session], in: bed.directory)
        #expect(resumed.reused, "\(resumed.output)")
    }

    @Test func aBadKeyOrAMissingFileRejectsTheReloadAndTheOldCertificateKeepsServing() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let pair = try Pair(bed)
        let admin = try Ports.free()
        let config = config(port: try Ports.free(), blue: blue, pair: pair, admin: admin)
        let proxy = try await bed.proxy(config)
        #expect(try await servedName(proxy, bed) == "first")

        // The second certificate with the first's key: SIGHUP logs the rejection, naming the key.
        try Data(contentsOf: pair.second.certificateFile).write(to: pair.cert)
        try proxy.reload(config.yaml)
        try await waitUntil("the proxy logs the rejected reload") { proxy.child.stderrText.contains("reload rejected") }
        #expect(proxy.child.stderrText.contains("\(pair.key.path): the key does not match the certificate \(pair.cert.path)"),
                "\(proxy.child.stderrText)")
        #expect(try await servedName(proxy, bed) == "first")

        // A missing certificate file: POST /reload answers 422 naming it (and the YAML line).
        try FileManager.default.removeItem(at: pair.cert)
        let client = try RawClient(port: admin)
        try client.send("POST /reload HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        let answer = try await client.readResponse()
        #expect(answer.status == 422)
        #expect(answer.bodyText.contains("\(proxy.configURL.path):"), "\(answer.bodyText)")
        #expect(answer.bodyText.contains("cannot read certificate file \(pair.cert.path): No such file or directory"),
                "\(answer.bodyText)")
        #expect(try await servedName(proxy, bed) == "first")

        // Fixed, the next reload applies.
        try pair.install(pair.second)
        try proxy.reload(config.yaml)
        try await waitUntil("the second certificate is served") { try await servedName(proxy, bed) == "second" }
    }

    @Test func aStartUpWithAnUnloadableCertificateFailsNamingTheFile() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let pair = try Pair(bed)
        let missing = bed.directory.appendingPathComponent("missing.crt").path
        let cases: [(cert: String, key: String, message: String)] = [
            (missing, pair.key.path, "cannot read certificate file \(missing): No such file or directory"),
            (pair.second.certificateFile.path, pair.key.path,
             "\(pair.key.path): the key does not match the certificate \(pair.second.certificateFile.path)"),
            (pair.key.path, pair.key.path, "\(pair.key.path): no PEM certificate found"),
        ]
        for (cert, key, message) in cases {
            let yaml = ProxyConfig.http(port: try Ports.free(), backends: [blue]).terminatingTLS([(cert, key)]).yaml
            let file = bed.directory.appendingPathComponent("start.yaml")
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            let run = try await CutoverBinary.run(["run", "-c", file.path], in: bed.directory)
            #expect(run.status == 1, "\(run.stderr)")
            #expect(run.stderr.contains("\(file.path):"), "\(run.stderr)")
            #expect(run.stderr.contains(message), "\(run.stderr)")
            // `check` does not open the files: it validates a config on a machine without the keys.
            let check = try await CutoverBinary.run(["check", "-c", file.path], in: bed.directory)
            #expect(check.status == 0, "\(check.stderr)")
        }
    }
}

import Foundation
import TestCertificates

/// What `openssl s_client` reported about one connection.
struct SClientReport {
    var output: String
    var status: Int32

    /// "TLSv1.3" in `New, TLSv1.3, Cipher is …` (or `Reused, …`); nil when no session was made.
    var protocolVersion: String? { sessionLine.flatMap { $0.split(separator: ",").dropFirst().first }.map { $0.trimmingCharacters(in: .whitespaces) } }
    var cipher: String? { sessionLine.flatMap { $0.components(separatedBy: "Cipher is ").last } }
    var reused: Bool { sessionLine?.hasPrefix("Reused,") == true }
    /// The subject's common name of the certificate the server sent.
    var commonName: String? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("subject=") }),
              let range = line.range(of: "CN = ") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != "," && $0 != "/" }).trimmingCharacters(in: .whitespaces)
    }
    var alpn: String? {
        output.split(separator: "\n").first { $0.hasPrefix("ALPN protocol: ") }.map { String($0.dropFirst("ALPN protocol: ".count)) }
    }

    private var sessionLine: String? {
        output.split(separator: "\n").map(String.init).first {
            ($0.hasPrefix("New, ") || $0.hasPrefix("Reused, ")) && !$0.contains("(NONE)")
        }
    }
}

/// Runs `openssl s_client -connect 127.0.0.1:PORT ARGUMENTS` with its input closed (it handshakes,
/// reads what the server sends right away, and exits), and reports what it negotiated.
/// `awaiting`: a file s_client writes (`-sess_out`) that must exist before its input closes (TLS
/// 1.3 tickets arrive after the handshake, and s_client would leave before them).
func sClient(port: UInt16, _ arguments: [String], in directory: URL, awaiting file: String? = nil,
             timeout: Duration = .seconds(10)) async throws -> SClientReport {
    let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/openssl"),
                                 ["s_client", "-connect", "127.0.0.1:\(port)"] + arguments, label: "s_client", in: directory)
    defer { child.kill() }
    if let file {
        try await waitUntil("s_client writes \(file)", timeout: timeout) { FileManager.default.fileExists(atPath: file) }
    }
    child.closeInput()
    let status = try await child.waitForExit(timeout: timeout)
    return SClientReport(output: child.stdoutText + child.stderrText, status: status)
}

/// An `openssl s_client` that stays connected: the test writes request bytes to it and waits
/// for what arrives. Its session stays in place across reloads of the proxy.
final class TLSTerminal: @unchecked Sendable {
    let child: ChildProcess

    init(port: UInt16, serverName: String, trusting ca: TestCertificate, in directory: URL) throws {
        child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/openssl"),
                                 ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", serverName,
                                  "-CAfile", ca.certificateFile.path, "-verify_return_error", "-ign_eof"],
                                 label: "s_client-terminal", in: directory)
    }

    func send(_ text: String) { child.write(text) }

    /// Waits until the output holds `count` occurrences of `text`.
    func waitFor(_ text: String, count: Int = 1, timeout: Duration = .seconds(10)) async throws {
        try await waitUntil("s_client shows \(count) × \(text.debugDescription)", timeout: timeout) {
            if !child.isRunning && child.stdoutText.components(separatedBy: text).count - 1 < count {
                throw ChildFailure("s_client exited: \(child.stdoutText)\(child.stderrText)")
            }
            return child.stdoutText.components(separatedBy: text).count - 1 >= count
        }
    }

    var report: SClientReport { SClientReport(output: child.stdoutText + child.stderrText, status: 0) }

    func close() { child.kill() }
}

/// A site certificate and the authority that signed it, made in a test's directory.
struct TestSite {
    let authority: TestCertificate
    let certificate: TestCertificate

    /// A certificate for `names` (the first is also its common name) signed by a fresh authority.
    static func make(_ factory: CertificateFactory, _ file: String, names: [String], key: CertificateFactory.KeyType = .ec) throws -> TestSite {
        let authority = try factory.authority("\(file)-ca")
        let certificate = try factory.certificate(file, commonName: names[0], names: names, issuer: authority, key: key)
        return TestSite(authority: authority, certificate: certificate)
    }

    var pair: (cert: String, key: String) { (certificate.certificateFile.path, certificate.keyFile.path) }
}

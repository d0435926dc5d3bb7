import Foundation

/// A certificate and its key, written by a test into its scratch directory with the `openssl`
/// command: the repository holds no private key.
public struct TestCertificate: Sendable {
    public let certificateFile: URL
    public let keyFile: URL

    public init(certificateFile: URL, keyFile: URL) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    public var certificatePEM: [UInt8] { get throws { Array(try Data(contentsOf: certificateFile)) } }
    public var keyPEM: [UInt8] { get throws { Array(try Data(contentsOf: keyFile)) } }
}

/// Makes certificate authorities and certificates for tests, in `directory`.
public struct CertificateFactory: Sendable {
    public enum KeyType: Sendable { case ec, rsa }

    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// A self-signed certificate authority.
    public func authority(_ name: String) throws -> TestCertificate {
        let out = files(name)
        try openssl(["req", "-x509", "-new"] + keyOptions(.ec) + [
            "-nodes", "-keyout", out.keyFile.path, "-out", out.certificateFile.path, "-days", "2",
            "-subj", "/CN=\(name)",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        return out
    }

    /// A certificate for `names` (DNS names; IP addresses go in as IP SANs; none: only the common
    /// name), signed by `issuer`, or self-signed without one. `chain` certificates are appended to
    /// the certificate file after the leaf, as a server sends them. `intermediate` makes it a CA.
    public func certificate(_ file: String, commonName: String, names: [String], issuer: TestCertificate? = nil,
                            chain: [TestCertificate] = [], key: KeyType = .ec,
                            intermediate: Bool = false) throws -> TestCertificate {
        let out = files(file)
        var extensions = intermediate
            ? ["basicConstraints=critical,CA:TRUE,pathlen:0", "keyUsage=critical,keyCertSign,cRLSign"]
            : ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
               "extendedKeyUsage=serverAuth"]
        if !names.isEmpty {
            let sans = names.map { name in
                name.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) ? "IP:\(name)" : "DNS:\(name)"
            }
            extensions.append("subjectAltName=" + sans.joined(separator: ","))
        }
        if let issuer {
            let csr = directory.appendingPathComponent("\(file).csr")
            let ext = directory.appendingPathComponent("\(file).ext")
            try (extensions.joined(separator: "\n") + "\n").write(to: ext, atomically: true, encoding: .utf8)
            try openssl(["req", "-new"] + keyOptions(key) + ["-nodes", "-keyout", out.keyFile.path,
                                                              "-out", csr.path, "-subj", "/CN=\(commonName)"])
            try openssl(["x509", "-req", "-in", csr.path, "-CA", issuer.certificateFile.path,
                         "-CAkey", issuer.keyFile.path, "-set_serial", "\(UInt32.random(in: 1...UInt32.max))",
                         "-days", "2", "-out", out.certificateFile.path, "-extfile", ext.path])
        } else {
            try openssl(["req", "-x509", "-new"] + keyOptions(key) + [
                "-nodes", "-keyout", out.keyFile.path, "-out", out.certificateFile.path, "-days", "2",
                "-subj", "/CN=\(commonName)",
            ] + extensions.flatMap { ["-addext", $0] })
        }
        if !chain.isEmpty {
            var pem = try Data(contentsOf: out.certificateFile)
            for link in chain { pem.append(try Data(contentsOf: link.certificateFile)) }
            try pem.write(to: out.certificateFile)
        }
        return out
    }

    private func files(_ name: String) -> TestCertificate {
        TestCertificate(certificateFile: directory.appendingPathComponent("\(name).crt"),
                        keyFile: directory.appendingPathComponent("\(name).key"))
    }

    private func keyOptions(_ key: KeyType) -> [String] {
        switch key {
        case .ec: return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        case .rsa: return ["-newkey", "rsa:2048"]
        }
    }

    /// Runs `openssl ARGS` to completion; throws with its stderr if it fails.
    public func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CertificateFailure("openssl \(arguments.joined(separator: " ")) failed: "
                                     + String(decoding: message, as: UTF8.self))
        }
    }
}

public struct CertificateFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

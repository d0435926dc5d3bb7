/// One certificate of a listener as the control plane read it: the PEM bytes of the certificate
/// (leaf first, then its chain) and of its private key, and the names the operator knows the
/// files by, for error messages.
public struct CertificateSource: Sendable, Equatable {
    public var certificatePEM: [UInt8]
    public var keyPEM: [UInt8]
    public var certificateFile: String
    public var keyFile: String

    public init(certificatePEM: [UInt8], keyPEM: [UInt8], certificateFile: String, keyFile: String) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// Same bytes: a context built from one serves the other (the file names do not matter).
    public func sameContent(as other: CertificateSource) -> Bool {
        certificatePEM == other.certificatePEM && keyPEM == other.keyPEM
    }
}

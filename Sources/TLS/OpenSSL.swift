import COpenSSL

/// The OpenSSL the process is linked with. TLS termination builds on these contexts; the
/// connection layer is shaped so a TLS stream can sit between socket and parser.
public enum OpenSSL {
    /// For `cutover version` and start-up logs: which libssl the proxy is actually running with.
    public static var version: String {
        String(cString: OpenSSL_version(Int32(OPENSSL_VERSION)))
    }
}

import COpenSSL

/// What cutover negotiates, for every listener and every backend alike: TLS 1.2 and 1.3 only,
/// forward-secret AEAD suites only (Mozilla's "intermediate" profile without DHE), HTTP/1.1.
public enum TLSPolicy {
    public static let minimumVersion = Int32(TLS1_2_VERSION)
    public static let maximumVersion = Int32(TLS1_3_VERSION)

    /// TLS 1.2: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305. No RSA key exchange (no
    /// forward secrecy), no CBC, RC4, 3DES, NULL or export suites. Server order: ECDSA before RSA
    /// (whichever the certificate allows), AES-128 first (fast with AES-NI, still strong).
    public static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// TLS 1.3: every suite of the protocol is AEAD and forward secret; the same order.
    public static let tls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    /// Key exchange groups, fastest first.
    public static let groups = "X25519:P-256:P-384"

    /// HTTP/1.1 in ALPN wire form (length-prefixed): what backends are spoken to in, and what
    /// listeners without HTTP/2 offer.
    static let alpnHTTP11: [UInt8] = [8] + Array("http/1.1".utf8)
    /// HTTP/2 over TLS (RFC 9113 §3.2), for listeners that speak it.
    static let alpnH2: [UInt8] = [2] + Array("h2".utf8)

    /// How long a session (id or ticket) may be resumed, as nginx's and HAProxy's default.
    public static let sessionLifetimeSeconds = 300
    /// Sessions the server-side cache of one listener keeps (for clients without tickets).
    public static let sessionCacheSize = 20480

    /// Applies the protocol range, suites and groups to a new context.
    static func apply(to ctx: OpaquePointer) throws(TLSError) {
        guard cutover_SSL_CTX_set_min_proto_version(ctx, minimumVersion) == 1,
              cutover_SSL_CTX_set_max_proto_version(ctx, maximumVersion) == 1 else {
            throw OpenSSLErrors.failure("cannot restrict the protocol to TLS 1.2-1.3")
        }
        guard SSL_CTX_set_cipher_list(ctx, tls12Ciphers) == 1,
              SSL_CTX_set_ciphersuites(ctx, tls13Suites) == 1 else {
            throw OpenSSLErrors.failure("this OpenSSL lacks the required cipher suites")
        }
        guard cutover_SSL_CTX_set1_groups_list(ctx, groups) == 1 else {
            throw OpenSSLErrors.failure("this OpenSSL lacks the key exchange groups \(groups)")
        }
        // Idle connections keep no record buffers; the write buffer may move between retries
        // (the caller's buffers compact); a write may finish record by record.
        _ = cutover_SSL_CTX_set_mode(ctx, Int(SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE
                                              | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
    }
}

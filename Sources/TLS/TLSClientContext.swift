import COpenSSL

/// The TLS side of a pool's connections to its backends: TLS 1.2-1.3 with the same suites as the
/// listeners, ALPN `http/1.1`, and (with `verify`) the backend's chain checked against the given
/// CA certificates, or the system's store when none are given, and its name (see
/// `TLSConnection.init(client:serverName:)`). Immutable once built, shared by every worker.
public final class TLSClientContext: @unchecked Sendable {
    let ctx: OpaquePointer
    public let verify: Bool

    /// `caPEM`: trusted certificates (PEM, any number), nil for the system's store; `caFile`
    /// names them in errors.
    public init(verify: Bool, caPEM: [UInt8]?, caFile: String?) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw OpenSSLErrors.failure("cannot create a TLS context")
        }
        do throws(TLSError) {
            try TLSPolicy.apply(to: ctx)
            _ = SSL_CTX_set_options(ctx, cutover_client_options())
            var alpn = TLSPolicy.alpnHTTP11
            guard SSL_CTX_set_alpn_protos(ctx, &alpn, UInt32(alpn.count)) == 0 else {  // 0 is success here
                throw OpenSSLErrors.failure("cannot set ALPN")
            }
            if verify {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
                if let caPEM {
                    try TLSClientContext.trust(caPEM, file: caFile ?? "ca", in: ctx)
                } else if SSL_CTX_set_default_verify_paths(ctx) != 1 {
                    throw OpenSSLErrors.failure("cannot load the system's CA certificates")
                }
            } else {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
            }
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        self.ctx = ctx
        self.verify = verify
    }

    deinit { SSL_CTX_free(ctx) }

    private static func trust(_ pem: [UInt8], file: String, in ctx: OpaquePointer) throws(TLSError) {
        let certificates = PEM.certificates(pem)
        defer { certificates.forEach { X509_free($0) } }
        guard !certificates.isEmpty else { throw TLSError("\(file): no PEM certificate found") }
        guard let store = SSL_CTX_get_cert_store(ctx) else { throw OpenSSLErrors.failure("no certificate store") }
        for cert in certificates where X509_STORE_add_cert(store, cert) != 1 {
            throw OpenSSLErrors.failure("\(file): certificate refused")
        }
    }
}

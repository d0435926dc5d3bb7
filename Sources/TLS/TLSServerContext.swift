import COpenSSL

/// The TLS side of one listener: an OpenSSL server context per certificate, the first being the
/// default, and the names that select the others (SNI). Immutable once built, and shared by every
/// worker (OpenSSL contexts are safe to create connections from on several threads). A reload
/// builds a new one; connections made from the old one keep it (and their SSL_CTX) alive.
public final class TLSServerContext: @unchecked Sendable {
    /// SSL_CTX per certificate, in the order configured.
    let contexts: [OpaquePointer]
    let matcher: SNIMatcher
    public let sources: [CertificateSource]
    /// Per certificate, the names it answers for (lower-cased), for logs and tests.
    public let names: [[String]]
    /// ALPN offers `h2` before `http/1.1` (the listener speaks HTTP/2).
    public let offersHTTP2: Bool

    /// Builds the contexts. `sessionContext` scopes session resumption (the listener's name: a
    /// session from one listener never resumes on another); `ticketKeys` encrypt the tickets.
    /// Throws an error naming the file for an unreadable certificate or key, or a key that does
    /// not belong to its certificate.
    /// `http2`: ALPN selects `h2` when the client offers it, else `http/1.1`.
    public init(certificates: [CertificateSource], sessionContext: String, ticketKeys: TicketKeys,
                http2: Bool = false) throws(TLSError) {
        guard !certificates.isEmpty else { throw TLSError("no certificate configured") }
        var contexts: [OpaquePointer] = []
        var names: [[String]] = []
        var matcher = SNIMatcher()
        do throws(TLSError) {
            for (index, source) in certificates.enumerated() {
                let (ctx, certificateNames) = try TLSServerContext.makeContext(source, sessionContext: sessionContext,
                                                                              ticketKeys: ticketKeys, http2: http2)
                contexts.append(ctx)
                names.append(certificateNames)
                matcher.add(certificateNames, index: index)
            }
        } catch {
            contexts.forEach { SSL_CTX_free($0) }
            throw error
        }
        self.contexts = contexts
        self.names = names
        offersHTTP2 = http2
        self.matcher = matcher
        self.sources = certificates
        // The default context sees the ClientHello first and picks the certificate. `self` is
        // passed unretained: every connection holds this object for as long as its SSL lives.
        _ = cutover_SSL_CTX_set_tlsext_servername_callback(contexts[0], serverNameCallback)
        _ = cutover_SSL_CTX_set_tlsext_servername_arg(contexts[0], Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        contexts.forEach { SSL_CTX_free($0) }
    }

    /// The certificate index `serverName` selects (0: the default).
    public func certificateIndex(for serverName: String) -> Int { matcher.match(serverName) }

    /// Sessions resumed so far by connections of this context (tickets and session ids).
    public var resumedSessions: Int { cutover_SSL_CTX_sess_hits(contexts[0]) }

    private static func makeContext(_ source: CertificateSource, sessionContext: String,
                                    ticketKeys: TicketKeys, http2: Bool) throws(TLSError) -> (OpaquePointer, [String]) {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw OpenSSLErrors.failure("cannot create a TLS context")
        }
        do throws(TLSError) {
            try TLSPolicy.apply(to: ctx)
            _ = SSL_CTX_set_options(ctx, cutover_server_options())
            let names = try loadCertificate(source, into: ctx)
            var sid = Array(sessionContext.utf8.prefix(Int(SSL_MAX_SID_CTX_LENGTH)))
            guard SSL_CTX_set_session_id_context(ctx, &sid, UInt32(sid.count)) == 1 else {
                throw OpenSSLErrors.failure("cannot set the session id context")
            }
            _ = cutover_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_SERVER))
            _ = cutover_SSL_CTX_sess_set_cache_size(ctx, TLSPolicy.sessionCacheSize)
            _ = SSL_CTX_set_timeout(ctx, TLSPolicy.sessionLifetimeSeconds)
            try ticketKeys.install(on: ctx)
            SSL_CTX_set_alpn_select_cb(ctx, http2 ? alpnSelectH2 : alpnSelectHTTP11, nil)
            return (ctx, names)
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
    }

    /// Leaf and chain from the certificate file, the key from the key file; the key must match.
    private static func loadCertificate(_ source: CertificateSource, into ctx: OpaquePointer) throws(TLSError) -> [String] {
        let certificates = PEM.certificates(source.certificatePEM)
        defer { certificates.forEach { X509_free($0) } }
        guard let leaf = certificates.first else {
            throw TLSError("\(source.certificateFile): no PEM certificate found")
        }
        guard SSL_CTX_use_certificate(ctx, leaf) == 1 else {
            throw OpenSSLErrors.failure("\(source.certificateFile): certificate refused")
        }
        for intermediate in certificates.dropFirst() {
            guard cutover_SSL_CTX_add1_chain_cert(ctx, intermediate) == 1 else {
                throw OpenSSLErrors.failure("\(source.certificateFile): chain certificate refused")
            }
        }
        let key: OpaquePointer
        switch PEM.privateKey(source.keyPEM) {
        case .success(let parsed): key = parsed
        case .failure(let error): throw TLSError("\(source.keyFile): \(error.message)")
        }
        defer { EVP_PKEY_free(key) }
        // OpenSSL files a key of another type than the certificate's in another slot without
        // complaint; the explicit check below catches that and a plain mismatch alike.
        let used = SSL_CTX_use_PrivateKey(ctx, key) == 1
        guard used, SSL_CTX_check_private_key(ctx) == 1 else {
            _ = OpenSSLErrors.drain()
            throw TLSError("\(source.keyFile): the key does not match the certificate \(source.certificateFile)")
        }
        let names = CertificateNames.of(leaf).map { $0.lowercased() }
        return names
    }
}

/// SNI: switches the connection to the context of the certificate its server name selects.
private let serverNameCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = { ssl, _, arg in
    guard let ssl, let arg, let raw = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else {
        return SSL_TLSEXT_ERR_OK
    }
    let context = Unmanaged<TLSServerContext>.fromOpaque(arg).takeUnretainedValue()
    let index = context.matcher.match(String(cString: raw))
    if index > 0 { _ = SSL_set_SSL_CTX(ssl, context.contexts[index]) }
    return SSL_TLSEXT_ERR_OK
}

/// ALPN: `http/1.1` when the client offers it. A client offering only other protocols (h2) gets
/// no ALPN answer rather than a fatal alert, as HAProxy does; one that offers none is fine.
private let alpnSelectHTTP11: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
    selectALPN(out, outLength, offered, offeredLength, preferring: [TLSPolicy.alpnHTTP11])
}

/// ALPN on a listener with HTTP/2: `h2` when offered, else `http/1.1` (the server's preference,
/// as RFC 7301 allows, whatever order the client lists them in).
private let alpnSelectH2: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
    selectALPN(out, outLength, offered, offeredLength, preferring: [TLSPolicy.alpnH2, TLSPolicy.alpnHTTP11])
}

/// Points `out` at the first protocol of `preferring` (ALPN wire form) the client offered.
private func selectALPN(_ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ outLength: UnsafeMutablePointer<UInt8>?,
                        _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32, preferring: [[UInt8]]) -> Int32 {
    guard let out, let outLength, let offered else { return SSL_TLSEXT_ERR_NOACK }
    let count = Int(offeredLength)
    for wanted in preferring {
        var i = 0
        while i < count {
            let length = Int(offered[i])
            let start = i + 1
            guard start + length <= count else { break }
            if length == wanted.count - 1,
               (0..<length).allSatisfy({ offered[start + $0] == wanted[1 + $0] }) {
                out.pointee = offered + start
                outLength.pointee = UInt8(length)
                return SSL_TLSEXT_ERR_OK
            }
            i = start + length
        }
    }
    return SSL_TLSEXT_ERR_NOACK
}

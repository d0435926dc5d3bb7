import COpenSSL

/// How a TLS call ended.
public enum TLSStatus: Sendable, Equatable {
    /// The operation completed (a handshake finished, bytes were read or written).
    case ok
    /// It needs more ciphertext from the peer.
    case wantInput
    /// It needs more room for ciphertext: send what it gave, then call again.
    case wantOutput
    /// The peer sent close_notify: no more data will come.
    case closed
    /// A protocol error, a failed verification, garbage: the connection is over (`failure` says why).
    case failed
}

/// The outcome of one call: its status, how much of the lent input it took, how much ciphertext
/// it put into the lent output, and how many plaintext bytes it read or wrote.
public struct TLSProgress: Sendable, Equatable {
    public var status: TLSStatus
    public var consumed: Int
    public var produced: Int
    public var count: Int
}

/// One TLS connection, server or client side, with no I/O of its own: ciphertext comes in and goes
/// out through memory the caller lends for each call (see `BIOWindow`), so the caller decides
/// when to read and write its socket, and how often. Confined to one thread at a time.
public final class TLSConnection {
    private let ssl: OpaquePointer
    private let window: UnsafeMutablePointer<BIOWindow>
    /// The context the SSL was made from: its SNI callback points at it, unretained.
    private let owner: AnyObject
    /// Why the connection failed, once it did.
    public private(set) var failure: String?

    /// A server-side connection of `context` (the handshake starts when the ClientHello arrives).
    public convenience init(server context: TLSServerContext) throws(TLSError) {
        try self.init(ctx: context.contexts[0], owner: context)
        SSL_set_accept_state(ssl)
    }

    /// A client-side connection of `context`. `serverName` is sent as SNI (an IP address is not:
    /// SNI carries host names only) and, when the context verifies, is what the certificate must
    /// be valid for (a DNS name, or an IP address in its IP SANs).
    public convenience init(client context: TLSClientContext, serverName: String) throws(TLSError) {
        try self.init(ctx: context.ctx, owner: context)
        let isAddress = HostName.isIPAddress(serverName)
        if !isAddress { _ = cutover_SSL_set_tlsext_host_name(ssl, serverName) }
        if context.verify {
            let named = isAddress
                ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) == 1
                : SSL_set1_host(ssl, serverName) == 1
            guard named else { throw OpenSSLErrors.failure("cannot verify against the name '\(serverName)'") }
        }
        SSL_set_connect_state(ssl)
    }

    private init(ctx: OpaquePointer, owner: AnyObject) throws(TLSError) {
        guard let ssl = SSL_new(ctx) else { throw OpenSSLErrors.failure("cannot create a TLS connection") }
        window = .allocate(capacity: 1)
        window.initialize(to: BIOWindow())
        guard let bio = WindowBIO.make(window) else {
            SSL_free(ssl)
            window.deallocate()
            throw OpenSSLErrors.failure("cannot create a BIO")
        }
        SSL_set_bio(ssl, bio, bio)  // one BIO both ways: SSL takes its one reference
        self.ssl = ssl
        self.owner = owner
    }

    deinit {
        // Freed without a close_notify exchange, OpenSSL would drop the session from the cache
        // (most clients just close the socket). Only a connection that failed loses it.
        if failure == nil { SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN) }
        SSL_free(ssl)
        window.deallocate()
    }

    // MARK: operations

    /// Advances the handshake. `.ok` once it is complete.
    public func handshake(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) -> TLSProgress {
        lend(input, output)
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        return progress(result == 1 ? .ok : status(of: result), count: 0)
    }

    /// Decrypts into `plaintext` (finishing the handshake first if needed). `.ok` with `count`
    /// bytes; `.wantInput` when the input is exhausted before a byte of plaintext.
    public func read(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer,
                     into plaintext: UnsafeMutableRawBufferPointer) -> TLSProgress {
        lend(input, output)
        ERR_clear_error()
        var count = 0
        let result = SSL_read_ex(ssl, plaintext.baseAddress, plaintext.count, &count)
        return progress(result == 1 ? .ok : status(of: result), count: count)
    }

    /// Encrypts (a prefix of) `plaintext` into `output`, record by record. `.ok` with `count`
    /// bytes taken; `.wantOutput` when not even one record fitted (send, then call again with
    /// the same bytes, which may have moved).
    public func write(_ plaintext: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) -> TLSProgress {
        lend(UnsafeRawBufferPointer(start: nil, count: 0), output)
        ERR_clear_error()
        var count = 0
        let result = SSL_write_ex(ssl, plaintext.baseAddress, plaintext.count, &count)
        return progress(result == 1 ? .ok : status(of: result), count: count)
    }

    /// Puts a close_notify alert into `output` (once; later calls give nothing).
    public func shutdown(output: UnsafeMutableRawBufferPointer) -> TLSProgress {
        lend(UnsafeRawBufferPointer(start: nil, count: 0), output)
        ERR_clear_error()
        guard SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN == 0 else { return progress(.ok, count: 0) }
        let result = SSL_shutdown(ssl)
        return progress(result >= 0 ? .ok : status(of: result), count: 0)
    }

    // MARK: state

    public var isEstablished: Bool { SSL_is_init_finished(ssl) == 1 }

    /// Ciphertext taken but not yet decrypted, or plaintext decrypted but not yet read: a reader
    /// must come back even if its socket has nothing new.
    public var hasBufferedInput: Bool { SSL_has_pending(ssl) == 1 }

    /// "TLSv1.3", "TLSv1.2".
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    public var cipher: String {
        SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? ""
    }

    /// The protocol ALPN selected, or "" when none was.
    public var applicationProtocol: String {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    public var sessionReused: Bool { SSL_session_reused(ssl) == 1 }

    /// The first name of the certificate this side presented (server) or received (client).
    public var certificateNames: [String] {
        if SSL_is_server(ssl) == 1 {
            guard let cert = SSL_get_certificate(ssl) else { return [] }
            return CertificateNames.of(cert)
        }
        guard let cert = SSL_get1_peer_certificate(ssl) else { return [] }
        defer { X509_free(cert) }
        return CertificateNames.of(cert)
    }

    // MARK: plumbing

    @inline(__always)
    private func lend(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) {
        window.pointee = BIOWindow(input: input.baseAddress, inputCount: input.count, inputTaken: 0,
                                   output: output.baseAddress, outputCount: output.count, outputGiven: 0)
    }

    @inline(__always)
    private func progress(_ status: TLSStatus, count: Int) -> TLSProgress {
        let result = TLSProgress(status: status, consumed: window.pointee.inputTaken,
                                 produced: window.pointee.outputGiven, count: count)
        window.pointee = BIOWindow()  // nothing lent outlives the call
        return result
    }

    private func status(of result: Int32) -> TLSStatus {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wantInput
        case SSL_ERROR_WANT_WRITE: return .wantOutput
        case SSL_ERROR_ZERO_RETURN: return .closed
        default:
            let verify = SSL_get_verify_result(ssl)
            var reason = OpenSSLErrors.drain()
            if verify != X509_V_OK, let text = X509_verify_cert_error_string(verify) {
                reason = "certificate verify failed: \(String(cString: text))"
            }
            failure = reason.isEmpty ? "TLS failure" : reason
            return .failed
        }
    }
}

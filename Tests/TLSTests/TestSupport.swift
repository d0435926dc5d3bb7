import COpenSSL
import Foundation
import TLS
import TestCertificates

/// A scratch directory with its certificate factory; removed by `tearDown()`.
final class CertificateBed {
    let directory: URL
    let factory: CertificateFactory

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cutover-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        factory = CertificateFactory(directory: directory)
    }

    func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func source(_ certificate: TestCertificate) throws -> CertificateSource {
        CertificateSource(certificatePEM: try certificate.certificatePEM, keyPEM: try certificate.keyPEM,
                          certificateFile: certificate.certificateFile.path, keyFile: certificate.keyFile.path)
    }

    func server(_ certificates: [TestCertificate], keys: TicketKeys? = nil) throws -> TLSServerContext {
        try TLSServerContext(certificates: certificates.map(source), sessionContext: "test", ticketKeys: keys ?? TicketKeys())
    }

    func trusting(_ authority: TestCertificate) throws -> TLSClientContext {
        try TLSClientContext(verify: true, caPEM: try authority.certificatePEM, caFile: authority.certificateFile.path)
    }
}

/// One end of an in-memory TLS conversation: what it takes in each step and what it gives.
protocol TLSEnd: AnyObject {
    /// Advances the handshake on `input`; returns the bytes taken, the bytes to send and the status.
    func step(_ input: [UInt8]) -> (consumed: Int, output: [UInt8], status: TLSStatus)
    var established: Bool { get }
}

/// Our own `TLSConnection`, driven with byte arrays.
final class Ours: TLSEnd {
    let tls: TLSConnection
    init(_ tls: TLSConnection) { self.tls = tls }

    func step(_ input: [UInt8]) -> (consumed: Int, output: [UInt8], status: TLSStatus) {
        var output = [UInt8](repeating: 0, count: 65536)
        let progress = input.withUnsafeBytes { inBytes in
            output.withUnsafeMutableBytes { tls.handshake(input: inBytes, output: $0) }
        }
        return (progress.consumed, Array(output[0..<progress.produced]), progress.status)
    }

    var established: Bool { tls.isEstablished }

    /// Encrypts all of `text`, whatever the output room, as a caller must: send, then retry.
    func seal(_ plaintext: [UInt8], room: Int = 65536) -> [UInt8] {
        var sent = 0
        var wire: [UInt8] = []
        while sent < plaintext.count {
            var output = [UInt8](repeating: 0, count: room)
            let progress = plaintext[sent...].withUnsafeBytes { p in
                output.withUnsafeMutableBytes { tls.write(p, output: $0) }
            }
            wire += output[0..<progress.produced]
            sent += progress.count
            if progress.status == .failed { break }
        }
        return wire
    }

    /// Decrypts everything `wire` holds; returns the plaintext and the last status.
    func open(_ wire: [UInt8]) -> (plaintext: [UInt8], status: TLSStatus) {
        var taken = 0
        var plaintext: [UInt8] = []
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            var output = [UInt8](repeating: 0, count: 4096)
            let progress = wire[taken...].withUnsafeBytes { input in
                output.withUnsafeMutableBytes { out in chunk.withUnsafeMutableBytes { tls.read(input: input, output: out, into: $0) } }
            }
            taken += progress.consumed
            plaintext += chunk[0..<progress.count]
            if progress.status != .ok { return (plaintext, progress.status) }
        }
    }
}

/// A client made directly with OpenSSL over memory BIOs, for what our client context never
/// offers (old protocol versions, weak suites, other ALPN lists).
final class RawClient: TLSEnd {
    let ctx: OpaquePointer
    let ssl: OpaquePointer
    let rbio: OpaquePointer
    let wbio: OpaquePointer

    init(maxVersion: Int32 = TLS1_3_VERSION, minVersion: Int32 = 0, ciphers: String? = nil,
         alpn: [String]? = nil, serverName: String? = nil, session: OpaquePointer? = nil) {
        ctx = SSL_CTX_new(TLS_client_method())!
        // Old protocols need security level 0 on OpenSSL 3, or the client would not even offer them.
        SSL_CTX_set_security_level(ctx, 0)
        _ = cutover_SSL_CTX_set_min_proto_version(ctx, minVersion)
        _ = cutover_SSL_CTX_set_max_proto_version(ctx, maxVersion)
        if let ciphers { _ = SSL_CTX_set_cipher_list(ctx, ciphers) }
        ssl = SSL_new(ctx)!
        rbio = BIO_new(BIO_s_mem())!
        wbio = BIO_new(BIO_s_mem())!
        SSL_set_bio(ssl, rbio, wbio)
        if let alpn {
            var wire: [UInt8] = []
            for name in alpn { wire += [UInt8(name.utf8.count)] + Array(name.utf8) }
            _ = SSL_set_alpn_protos(ssl, &wire, UInt32(wire.count))
        }
        if let serverName { _ = cutover_SSL_set_tlsext_host_name(ssl, serverName) }
        if let session { _ = SSL_set_session(ssl, session) }
        SSL_set_connect_state(ssl)
    }

    deinit {
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN)  // keep the session resumable
        SSL_free(ssl)
        SSL_CTX_free(ctx)
    }

    func step(_ input: [UInt8]) -> (consumed: Int, output: [UInt8], status: TLSStatus) {
        if !input.isEmpty { _ = input.withUnsafeBytes { BIO_write(rbio, $0.baseAddress, Int32($0.count)) } }
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        var status = TLSStatus.ok
        if result != 1 {
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ: status = .wantInput
            default: status = .failed
            }
        }
        return (input.count, drainOutput(), status)
    }

    /// Reads application data (and the session tickets that come with it).
    func read(_ input: [UInt8]) -> [UInt8] {
        if !input.isEmpty { _ = input.withUnsafeBytes { BIO_write(rbio, $0.baseAddress, Int32($0.count)) } }
        var plaintext: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            var n = 0
            guard SSL_read_ex(ssl, &chunk, chunk.count, &n) == 1 else { break }
            plaintext += chunk[0..<n]
        }
        return plaintext
    }

    func drainOutput() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = BIO_read(wbio, &chunk, Int32(chunk.count))
            if n <= 0 { break }
            out += chunk[0..<Int(n)]
        }
        return out
    }

    var established: Bool { SSL_is_init_finished(ssl) == 1 }
    var version: String { String(cString: SSL_get_version(ssl)) }
    var cipher: String { String(cString: SSL_CIPHER_get_name(SSL_get_current_cipher(ssl))) }
    var reused: Bool { SSL_session_reused(ssl) == 1 }
    var alpn: String {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }
    /// The common name of the certificate the server presented.
    var peerCommonName: String {
        guard let cert = SSL_get1_peer_certificate(ssl) else { return "" }
        defer { X509_free(cert) }
        var buffer = [CChar](repeating: 0, count: 256)
        let n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, &buffer, 256)
        return String(decoding: buffer.prefix(max(0, Int(n))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    /// The session to resume with (a new reference; the caller frees it).
    var session: OpaquePointer? { SSL_get1_session(ssl) }
}

/// What a handshake between two ends came to.
struct HandshakeOutcome {
    var client: TLSStatus
    var server: TLSStatus
    /// Bytes the server sent after the handshake that the client has not read (TLS 1.3 tickets).
    var pendingForClient: [UInt8]
    var succeeded: Bool { client == .ok && server == .ok }
}

/// Moves bytes between `client` and `server` until both finish the handshake or one fails.
func handshake(_ client: any TLSEnd, _ server: any TLSEnd) -> HandshakeOutcome {
    var toServer: [UInt8] = []
    var toClient: [UInt8] = []
    var clientStatus = TLSStatus.wantInput
    var serverStatus = TLSStatus.wantInput
    for _ in 0..<20 {
        if clientStatus != .ok {
            let c = client.step(toClient)
            toClient.removeFirst(c.consumed)
            toServer += c.output
            clientStatus = c.status
        }
        if serverStatus != .ok {
            let s = server.step(toServer)
            toServer.removeFirst(s.consumed)
            toClient += s.output
            serverStatus = s.status
        }
        if clientStatus == .failed || serverStatus == .failed { break }
        if clientStatus == .ok && serverStatus == .ok { break }
    }
    return HandshakeOutcome(client: clientStatus, server: serverStatus, pendingForClient: toClient)
}

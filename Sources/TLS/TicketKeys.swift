import COpenSSL

/// The secret that encrypts session tickets: a 16-byte key name, a 32-byte HMAC secret and a
/// 32-byte AES key, random per process. The control plane keeps it and gives it to every server
/// context it builds, so a ticket issued before a reload still resumes after it.
public struct TicketKeys: Sendable, Equatable {
    var bytes: [UInt8]

    public static let length = 80

    public init() throws(TLSError) {
        var bytes = [UInt8](repeating: 0, count: TicketKeys.length)
        guard RAND_bytes(&bytes, Int32(TicketKeys.length)) == 1 else {
            throw OpenSSLErrors.failure("no random bytes for the session ticket keys")
        }
        self.bytes = bytes
    }

    func install(on ctx: OpaquePointer) throws(TLSError) {
        var copy = bytes
        guard cutover_SSL_CTX_set_tlsext_ticket_keys(ctx, &copy, TicketKeys.length) == 1 else {
            throw OpenSSLErrors.failure("cannot set the session ticket keys")
        }
    }
}

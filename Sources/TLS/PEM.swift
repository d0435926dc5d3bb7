import COpenSSL

/// PEM text parsed from memory: the control plane reads the files (so it can report which one it
/// could not read, and tell a changed file from an unchanged one); OpenSSL never opens them.
enum PEM {
    /// Every certificate in `pem`, in order. The caller frees them (`X509_free`).
    static func certificates(_ pem: [UInt8]) -> [OpaquePointer] {
        var certificates: [OpaquePointer] = []
        pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return }
            defer { BIO_free(bio) }
            while let cert = PEM_read_bio_X509(bio, nil, noPassphrase, nil) {
                certificates.append(cert)
            }
        }
        _ = OpenSSLErrors.drain()  // the read that ended the loop left "no start line"
        return certificates
    }

    /// The private key in `pem`, or the reason there is none. The caller frees it (`EVP_PKEY_free`).
    static func privateKey(_ pem: [UInt8]) -> Result<OpaquePointer, TLSError> {
        let key: OpaquePointer? = pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, noPassphrase, nil)
        }
        if let key {
            return .success(key)
        }
        let reasons = OpenSSLErrors.drain()
        if contains(pem, "ENCRYPTED") {
            return .failure(TLSError("the key is encrypted; cutover needs it unencrypted (e.g. openssl pkey -in KEY -out PLAIN)"))
        }
        return .failure(TLSError("no PEM private key found" + (reasons.isEmpty ? "" : " (\(reasons))")))
    }

    /// Encrypted keys are refused rather than prompting for a passphrase on a terminal a proxy
    /// does not have.
    private static let noPassphrase: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in 0 }

    private static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard haystack.count >= n.count else { return false }
        for start in 0...(haystack.count - n.count) where haystack[start] == n[0] {
            if Array(haystack[start..<start + n.count]) == n { return true }
        }
        return false
    }
}

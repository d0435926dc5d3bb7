import COpenSSL

/// The DNS names a certificate is valid for: its subject alternative names of type DNS, or, only
/// when it has none, its subject's common name (the rule browsers follow).
enum CertificateNames {
    static func of(_ cert: OpaquePointer) -> [String] {
        var names: [String] = []
        if let raw = X509_get_ext_d2i(cert, NID_subject_alt_name, nil, nil) {
            let general = OpaquePointer(raw)
            defer { cutover_GENERAL_NAMES_free(general) }
            for i in 0..<cutover_sk_GENERAL_NAME_num(general) {
                guard let entry = cutover_sk_GENERAL_NAME_value(general, i), entry.pointee.type == GEN_DNS,
                      let text = entry.pointee.d.dNSName, let name = string(text) else { continue }
                names.append(name)
            }
        }
        if !names.isEmpty { return names }
        guard let subject = X509_get_subject_name(cert) else { return [] }
        let index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(subject, index),
              let data = X509_NAME_ENTRY_get_data(entry), let name = string(data) else { return [] }
        return [name]
    }

    /// An ASN.1 string as text, if it is plain ASCII (a DNS name is).
    private static func string(_ value: UnsafePointer<ASN1_STRING>) -> String? {
        guard let bytes = ASN1_STRING_get0_data(value) else { return nil }
        let count = Int(ASN1_STRING_length(value))
        let buffer = UnsafeBufferPointer(start: bytes, count: count)
        guard count > 0, buffer.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return String(decoding: buffer, as: UTF8.self)
    }
}

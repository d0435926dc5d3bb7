/// Which header fields an HTTP/2 response may carry (RFC 9113 §8.2.2): none of the
/// connection-specific fields an HTTP/1.1 backend may send — `connection`, `keep-alive`,
/// `proxy-connection`, `transfer-encoding`, `upgrade`, `te` other than "trailers", and any field
/// `connection` names —, no pseudo-header from the caller, and names in lowercase.
/// Pure, over bytes; the codec runs it on every `respond` and `finishBody` trailer list.
enum ResponseFieldRules {
    /// Copies the fields of `source` an HTTP/2 response may carry into `destination`, names
    /// lowercased, after `destination`'s existing fields.
    static func copyAllowed(from source: H2FieldList, into destination: inout H2FieldList) {
        source.bytes.withUnsafeBytes { raw in
            for field in source.fields {
                let name = UnsafeRawBufferPointer(rebasing: raw[field.name])
                let value = UnsafeRawBufferPointer(rebasing: raw[field.value])
                guard allowed(name: name, value: value, in: source, raw: raw) else { continue }
                let start = destination.bytes.count
                for byte in name { destination.appendByte(lowercase(byte)) }
                let middle = destination.bytes.count
                destination.appendBytes(value)
                destination.appendField(name: start..<middle, value: middle..<destination.bytes.count)
            }
        }
    }

    /// Whether the field `name: value` may go out in an HTTP/2 response; `list`/`raw` are
    /// searched for `connection` fields nominating `name`.
    static func allowed(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                        in list: H2FieldList, raw: UnsafeRawBufferPointer) -> Bool {
        if name.isEmpty || name[0] == UInt8(ascii: ":") { return false }
        for forbidden in alwaysForbidden where equalsLowercase(name, forbidden) { return false }
        if equalsLowercase(name, "te") { return equalsLowercase(trimmed(value), "trailers") }
        // A field named in `connection` is hop-by-hop too (RFC 9110 §7.6.1).
        for field in list.fields {
            let other = UnsafeRawBufferPointer(rebasing: raw[field.name])
            guard equalsLowercase(other, "connection") else { continue }
            var found = false
            forEachToken(UnsafeRawBufferPointer(rebasing: raw[field.value])) { token in
                if !found && sameIgnoringCase(token, name) { found = true }
            }
            if found { return false }
        }
        return true
    }

    static let alwaysForbidden: [StaticString] = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
    ]

    static func lowercase(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    static func equalsLowercase(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount)
        for i in 0..<bytes.count where lowercase(bytes[i]) != expected[i] { return false }
        return true
    }

    static func sameIgnoringCase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where lowercase(a[i]) != lowercase(b[i]) { return false }
        return true
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0, end = bytes.count
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// Calls `body` with each non-empty, trimmed element of a comma-separated list.
    static func forEachToken(_ list: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        for i in 0...list.count where i == list.count || list[i] == UInt8(ascii: ",") {
            let token = trimmed(UnsafeRawBufferPointer(rebasing: list[start..<i]))
            if !token.isEmpty { body(token) }
            start = i + 1
        }
    }
}

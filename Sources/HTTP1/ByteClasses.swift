/// Byte classes of RFC 9110 §5.6 as branch-light predicates, so the parsers never build strings
/// and never consult a lazily initialised global table on the hot path.
enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let comma: UInt8 = 0x2C
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let dquote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C

    /// `tchar` as two 64-bit masks (bytes 0–63 and 64–127); bytes ≥ 128 are never tchar.
    /// Tests recompute both masks from the RFC's list.
    static let tcharLow: UInt64 = 0x03FF_6CFA_0000_0000
    static let tcharHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// `tchar` (RFC 9110 §5.6.2): the bytes a method, a field name or a token may hold.
    @inline(__always)
    static func isTchar(_ b: UInt8) -> Bool {
        if b < 64 { return (tcharLow >> UInt64(b)) & 1 == 1 }
        if b < 128 { return (tcharHigh >> UInt64(b &- 64)) & 1 == 1 }
        return false
    }

    /// SP or HTAB: optional whitespace (OWS / BWS).
    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool { b == sp || b == htab }

    /// A byte allowed inside a field value (field-vchar, SP, HTAB, obs-text): everything except
    /// the controls (NUL, CR, LF, the other C0 controls but HTAB) and DEL.
    @inline(__always)
    static func isFieldValueByte(_ b: UInt8) -> Bool { (b >= 0x20 && b != 0x7F) || b == htab }

    /// A byte allowed in a request-target: anything but the controls, DEL and SP.
    @inline(__always)
    static func isTargetByte(_ b: UInt8) -> Bool { b > 0x20 && b != 0x7F }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    /// The value of a hexadecimal digit, or nil.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        if b &- 0x30 < 10 { return b &- 0x30 }
        let l = b | 0x20
        if l &- 0x61 < 6 { return l &- 0x61 &+ 10 }
        return nil
    }

    @inline(__always)
    static func lowercased(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }
}

/// Case-insensitive comparison of `bytes[range]` with a lowercase ASCII literal, without building
/// a string (field names and tokens are case-insensitive, RFC 9110 §5.1).
@inline(__always)
func equalsLowercase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
    literal.withUTF8Buffer { lit in
        guard lit.count == range.count else { return false }
        var j = 0
        for i in range {
            if ASCII.lowercased(bytes[i]) != lit[j] { return false }
            j &+= 1
        }
        return true
    }
}

/// Case-sensitive comparison of `bytes[range]` with an ASCII literal (methods are
/// case-sensitive, RFC 9110 §9.1).
@inline(__always)
func equalsExactly(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
    literal.withUTF8Buffer { lit in
        guard lit.count == range.count else { return false }
        var j = 0
        for i in range {
            if bytes[i] != lit[j] { return false }
            j &+= 1
        }
        return true
    }
}

/// Case-insensitive comparison of two spans of the same buffer (a Connection token against a
/// field name).
@inline(__always)
func equalsCaseInsensitive(_ bytes: UnsafeRawBufferPointer, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
    guard a.count == b.count else { return false }
    var j = b.lowerBound
    for i in a {
        if ASCII.lowercased(bytes[i]) != ASCII.lowercased(bytes[j]) { return false }
        j &+= 1
    }
    return true
}

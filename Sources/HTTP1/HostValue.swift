/// Host field validation (RFC 9112 §3.2, RFC 3986 §3.2.2–3.2.3): `host [ ":" port ]` where host
/// is an IP-literal (`[` IPv6 or IPvFuture `]`), an IPv4 address or a reg-name (unreserved,
/// pct-encoded and sub-delims characters), and port is digits. At most one port, nothing else:
/// a Host a backend or a cache could split differently (`a.com:80@b.com`, `a b`, two ports) is
/// a 400 here. An empty value is allowed (a request target without authority).
func isValidHost(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) -> Bool {
    var i = value.lowerBound
    let end = value.upperBound
    guard i < end else { return true }
    if bytes[i] == UInt8(ascii: "[") {
        i += 1
        let start = i
        while i < end && bytes[i] != UInt8(ascii: "]") {
            guard isIPLiteralByte(bytes[i]) else { return false }
            i += 1
        }
        guard i < end, i > start else { return false }
        i += 1  // "]"
    } else {
        while i < end && bytes[i] != UInt8(ascii: ":") {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < end, isHexDigit(bytes[i + 1]), isHexDigit(bytes[i + 2]) else { return false }
                i += 3
                continue
            }
            guard isRegNameByte(b) else { return false }
            i += 1
        }
    }
    guard i < end else { return true }
    guard bytes[i] == UInt8(ascii: ":") else { return false }
    i += 1
    let portStart = i
    while i < end && ASCII.isDigit(bytes[i]) { i += 1 }
    return i == end && i - portStart <= 5
}

/// unreserved / sub-delims (RFC 3986 §2.2–2.3), without ":" which ends the host.
@inline(__always)
private func isRegNameByte(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
         UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
         UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
        return true
    default:
        return false
    }
}

/// Inside brackets: IPv6 (hex digits, ":" and "." for an embedded IPv4) or IPvFuture
/// (`v` HEXDIG "." then unreserved / sub-delims / ":").
@inline(__always)
private func isIPLiteralByte(_ b: UInt8) -> Bool {
    isRegNameByte(b) || b == UInt8(ascii: ":")
}

@inline(__always)
private func isHexDigit(_ b: UInt8) -> Bool {
    ASCII.isDigit(b) || (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "f")
}

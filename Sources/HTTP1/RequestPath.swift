/// The path of a request target and its normal form (RFC 3986 §6.2.2), for routing by path on
/// the bytes the backend will see: a rule for `/admin/` must not be dodged with `/x/../admin/`,
/// `/%61dmin/` or `/./admin/`, and a backend must not be handed a path that means something else
/// than what was matched. So when a listener routes by path, the normal form is both matched and
/// forwarded (as Envoy's `normalize_path` does).

/// The path part of a request target: origin-form up to `?`; absolute-form after its authority
/// (`http://host/a?b` → `/a`, an empty path is `/` by RFC 9112 §3.2.2 — returned empty here);
/// nothing for asterisk-form and authority-form.
public func requestPath(_ source: UnsafeRawBufferPointer, target: Range<Int>) -> Range<Int> {
    var start = target.lowerBound
    let end = target.upperBound
    guard start < end else { return start..<start }
    if source[start] != UInt8(ascii: "/") {
        // absolute-form: scheme "://" authority path-abempty
        guard let colon = (start..<end).first(where: { source[$0] == UInt8(ascii: ":") }),
              colon + 2 < end, source[colon + 1] == UInt8(ascii: "/"), source[colon + 2] == UInt8(ascii: "/") else {
            return start..<start
        }
        start = colon + 3
        while start < end && source[start] != UInt8(ascii: "/") && source[start] != UInt8(ascii: "?") { start += 1 }
    }
    var stop = start
    while stop < end && source[stop] != UInt8(ascii: "?") { stop += 1 }
    return start..<stop
}

/// Whether `path` differs from its normal form: it has a percent-encoding (which may hide an
/// unreserved character or be in lower case) or a `.`/`..` segment. Cheap: one pass, no writes.
public func pathNeedsNormalizing(_ path: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    while i < path.count {
        let b = path[i]
        if b == UInt8(ascii: "%") { return true }
        if b == UInt8(ascii: ".") && (i == 0 || path[i - 1] == UInt8(ascii: "/")) {
            // "." or ".." as a whole segment
            var j = i + 1
            if j < path.count && path[j] == UInt8(ascii: ".") { j += 1 }
            if j == path.count || path[j] == UInt8(ascii: "/") { return true }
        }
        i += 1
    }
    return false
}

/// Writes the normal form of `path` into `out` and returns its length (nil if `out` is too
/// small; the normal form is never longer than the path): percent-encoded unreserved characters
/// decoded (`%7E` → `~`, `%2e` → `.`), the hex digits of other encodings upper-cased (`%2f` →
/// `%2F`: an encoded slash stays encoded, never a separator), then dot segments removed
/// (RFC 3986 §5.2.4; `..` never climbs above the root). The result starts with `/` when the path
/// did.
public func normalizePath(_ path: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
    guard out.count >= path.count else { return nil }
    // Pass 1: percent-decoding of unreserved characters, into `out`.
    var n = 0
    var i = 0
    while i < path.count {
        let b = path[i]
        if b == UInt8(ascii: "%"), i + 2 < path.count, let high = hexValue(path[i + 1]), let low = hexValue(path[i + 2]) {
            let decoded = high << 4 | low
            if isUnreserved(decoded) {
                out[n] = decoded
                n += 1
            } else {
                out[n] = b
                out[n + 1] = upperHex(high)
                out[n + 2] = upperHex(low)
                n += 3
            }
            i += 3
            continue
        }
        out[n] = b
        n += 1
        i += 1
    }
    // Pass 2: dot segments removed in place (a path not starting with "/" has none to climb).
    // Output is "/seg/seg…"; `w` never passes `r`, so the copy reads bytes not yet overwritten.
    guard n > 0, out[0] == UInt8(ascii: "/") else { return n }
    var w = 0
    var r = 0
    while r < n {
        let segmentStart = r + 1  // out[r] is a "/"
        var segmentEnd = segmentStart
        while segmentEnd < n && out[segmentEnd] != UInt8(ascii: "/") { segmentEnd += 1 }
        let length = segmentEnd - segmentStart
        let dot = length == 1 && out[segmentStart] == UInt8(ascii: ".")
        let dotDot = length == 2 && out[segmentStart] == UInt8(ascii: ".") && out[segmentStart + 1] == UInt8(ascii: ".")
        if dot || dotDot {
            if dotDot {
                // Up one: back to the last "/" written (never above the root).
                while w > 0 {
                    w -= 1
                    if out[w] == UInt8(ascii: "/") { break }
                }
            }
            // A dot segment at the end leaves its directory: "/a/b/.." → "/a/".
            if segmentEnd == n {
                out[w] = UInt8(ascii: "/")
                w += 1
            }
        } else {
            for k in r..<segmentEnd {
                out[w] = out[k]
                w += 1
            }
        }
        r = segmentEnd
    }
    return w
}

/// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
@inline(__always)
private func isUnreserved(_ b: UInt8) -> Bool {
    (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
        || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
}

@inline(__always)
private func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 0x30...0x39: b - 0x30
    case 0x41...0x46: b - 0x41 + 10
    case 0x61...0x66: b - 0x61 + 10
    default: nil
    }
}

@inline(__always)
private func upperHex(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x41 + v - 10 }

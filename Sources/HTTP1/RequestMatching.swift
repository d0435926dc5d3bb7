/// What a routing rule compares a request with: its host, its path, a header, a cookie. Pure and
/// allocation-free: patterns are prepared once (lower-cased, trimmed) when a snapshot is built,
/// and each comparison reads the parsed head's bytes where they are.

/// A host pattern: an exact name, or `*.` and a suffix matching exactly one more label
/// (`*.example.com` matches `a.example.com`, not `example.com` nor `a.b.example.com`). Names are
/// ASCII (IDNs in their punycode `xn--` form) and compared case-insensitively.
public enum HostPattern: Sendable, Equatable {
    /// The name, lower-cased, without a trailing dot.
    case exact([UInt8])
    /// The suffix after `*`, lower-cased, starting with "." (`.example.com`).
    case oneLabel(suffix: [UInt8])

    /// Prepares a pattern as written in the config (`api.example.com`, `*.example.com`).
    public init(_ written: String) {
        var bytes = Array(written.utf8).map(ASCII.lowercased)
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        if bytes.count > 1 && bytes[0] == UInt8(ascii: "*") && bytes[1] == UInt8(ascii: ".") {
            self = .oneLabel(suffix: Array(bytes[1...]))
        } else {
            self = .exact(bytes)
        }
    }

    /// Whether `host` (a name as `hostName(of:)` gives it) matches.
    public func matches(_ host: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .exact(let name):
            return name.count == host.count && name.withUnsafeBytes { n in
                for i in 0..<n.count where ASCII.lowercased(host[i]) != n[i] { return false }
                return true
            }
        case .oneLabel(let suffix):
            let label = host.count - suffix.count
            guard label > 0 else { return false }
            for i in 0..<label where host[i] == UInt8(ascii: ".") { return false }
            return suffix.withUnsafeBytes { s in
                for i in 0..<s.count where ASCII.lowercased(host[label + i]) != s[i] { return false }
                return true
            }
        }
    }
}

/// The host name of a Host value (or an absolute-form authority): the port and a trailing dot
/// removed (`Example.COM.:8080` → `Example.COM`), brackets kept for an IP literal (`[::1]:80` →
/// `[::1]`). Case is left to the comparison.
public func hostName(of value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    var end = value.count
    if end > 0 && value[0] == UInt8(ascii: "[") {
        if let close = value.firstIndex(of: UInt8(ascii: "]")) { end = close + 1 }
    } else if let colon = value.firstIndex(of: UInt8(ascii: ":")) {
        end = colon
    }
    if end > 0 && value[end - 1] == UInt8(ascii: ".") { end -= 1 }
    return UnsafeRawBufferPointer(rebasing: value[0..<end])
}

/// The authority of an absolute-form target (`http://a.example:8080/x` → `a.example:8080`), or
/// nil for origin-form. RFC 9112 §3.2.2: when the target has an authority, it is the request's
/// host, whatever the Host field says.
public func targetAuthority(_ source: UnsafeRawBufferPointer, target: Range<Int>) -> Range<Int>? {
    guard let first = target.first, source[first] != UInt8(ascii: "/") else { return nil }
    var i = first
    while i + 2 < target.upperBound {
        if source[i] == UInt8(ascii: ":") && source[i + 1] == UInt8(ascii: "/") && source[i + 2] == UInt8(ascii: "/") {
            let start = i + 3
            var end = start
            while end < target.upperBound && source[end] != UInt8(ascii: "/") && source[end] != UInt8(ascii: "?") { end += 1 }
            return start..<end
        }
        i += 1
    }
    return nil
}

/// A path pattern on the normalised path: exact, or a prefix that ends on a segment boundary
/// (`/static` and `/static/` both match `/static`, `/static/a.css`, never `/staticfoo`; `/`
/// matches every path).
public enum PathPattern: Sendable, Equatable {
    case exact([UInt8])
    /// Without its trailing "/" (except the root, kept as "/").
    case prefix([UInt8])

    public static func prefix(_ written: String) -> PathPattern {
        var bytes = Array(written.utf8)
        if bytes.count > 1 && bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        return .prefix(bytes)
    }

    public func matches(_ path: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .exact(let p):
            return p.count == path.count && p.withUnsafeBytes { $0.elementsEqual(path) }
        case .prefix(let p):
            if p == [UInt8(ascii: "/")] { return path.first == UInt8(ascii: "/") }
            guard path.count >= p.count, p.withUnsafeBytes({ $0.elementsEqual(path[0..<p.count]) }) else { return false }
            return path.count == p.count || path[p.count] == UInt8(ascii: "/")
        }
    }
}

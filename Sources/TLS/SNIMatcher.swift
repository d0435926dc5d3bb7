/// Which certificate answers a server name. Names come from the certificates themselves (their
/// DNS subject alternative names, else their common name), lower-cased. An exact name wins over a
/// wildcard; a wildcard `*.example.com` covers exactly one label (`a.example.com`, not
/// `example.com` nor `a.b.example.com`, as RFC 6125 says); when two certificates claim a name, the
/// first listed keeps it. No match, or no name at all: the first certificate (the default).
public struct SNIMatcher: Sendable, Equatable {
    private var exact: [String: Int] = [:]
    /// Keyed by what follows `*.`.
    private var wildcard: [String: Int] = [:]

    public init() {}

    /// Makes `names` (one certificate's) answer with `index`.
    public mutating func add(_ names: [String], index: Int) {
        for raw in names {
            let name = raw.lowercased()
            if name.hasPrefix("*.") {
                let suffix = String(name.dropFirst(2))
                guard !suffix.isEmpty, !suffix.contains("*") else { continue }
                if wildcard[suffix] == nil { wildcard[suffix] = index }
            } else if !name.isEmpty, !name.contains("*") {
                if exact[name] == nil { exact[name] = index }
            }
        }
    }

    /// The index of the certificate for `serverName` (as the client sent it), or 0.
    public func match(_ serverName: String) -> Int {
        var name = serverName.lowercased()
        if name.hasSuffix(".") { name.removeLast() }  // an absolute name, sent by a few clients
        if let index = exact[name] { return index }
        guard let dot = name.firstIndex(of: "."), dot != name.startIndex else { return 0 }
        return wildcard[String(name[name.index(after: dot)...])] ?? 0
    }
}

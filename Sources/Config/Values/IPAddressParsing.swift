/// Pure-Swift IPv4 and IPv6 literal parsing, so validation does not depend on the C library and gives
/// the same answer everywhere.
enum IPAddressParsing {
    /// Dotted quad `a.b.c.d`, each 0...255, no leading zeros (which some parsers read as octal).
    static func ipv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part == "0" || part.first != "0",
                  let value = UInt8(part) else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    /// RFC 4291 text form: eight groups of 1-4 hex digits, at most one `::`, optionally ending in a
    /// dotted quad (`::ffff:10.0.0.1`). Zone identifiers (`%eth0`) are not accepted.
    static func ipv6(_ text: Substring) -> [UInt8]? {
        let head: Substring, tail: Substring?
        if let gap = text.firstRange(of: "::") {
            head = text[..<gap.lowerBound]
            tail = text[gap.upperBound...]
        } else {
            head = text
            tail = nil
        }
        guard var headGroups = groups(head, allowDottedEnd: tail == nil) else { return nil }
        guard let tail else { return headGroups.count == 8 ? bytes(headGroups) : nil }
        guard !tail.contains("::"), let tailGroups = groups(tail, allowDottedEnd: true),
              headGroups.count + tailGroups.count <= 7 else { return nil }
        headGroups += Array(repeating: 0, count: 8 - headGroups.count - tailGroups.count)
        return bytes(headGroups + tailGroups)
    }

    /// The 16-bit groups of one side of `::`; an empty side has none.
    private static func groups(_ text: Substring, allowDottedEnd: Bool) -> [UInt16]? {
        if text.isEmpty { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var result: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if allowDottedEnd && index == parts.count - 1 && part.contains(".") {
                guard let quad = ipv4(part) else { return nil }
                result.append(UInt16(quad[0]) << 8 | UInt16(quad[1]))
                result.append(UInt16(quad[2]) << 8 | UInt16(quad[3]))
                continue
            }
            guard (1...4).contains(part.count), part.allSatisfy(\.isHexDigit),
                  let value = UInt16(part, radix: 16) else { return nil }
            result.append(value)
        }
        return result
    }

    private static func bytes(_ groups: [UInt16]) -> [UInt8] {
        groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }
}

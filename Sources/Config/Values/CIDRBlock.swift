/// An address block such as `127.0.0.0/8` or `::1/128`, as used by `override.allow_from`.
///
/// Parsed once here so the control plane can hand the data plane plain bytes and a prefix length;
/// the data plane never parses text on the request path.
public struct CIDRBlock: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, in network order, exactly as written (host bits are kept;
    /// `contains` ignores them, as nginx and HAProxy do).
    public var address: [UInt8]
    /// 0...32 for IPv4, 0...128 for IPv6.
    public var prefixLength: Int

    public var isIPv6: Bool { address.count == 16 }

    /// Parses `ADDRESS/PREFIX`; a bare address means a single host (`/32` or `/128`).
    public init?(parsing text: String) {
        guard let block = try? CIDRBlock.parse(text) else { return nil }
        self = block
    }

    init(address: [UInt8], prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    static func parse(_ text: String) throws(ValueError) -> CIDRBlock {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = parts[0]
        let address: [UInt8]
        if let v4 = IPAddressParsing.ipv4(addressText) {
            address = v4
        } else if let v6 = IPAddressParsing.ipv6(addressText) {
            address = v6
        } else {
            throw ValueError("'\(text)' is not an IPv4 or IPv6 address block like 10.0.0.0/8 or ::1/128")
        }
        let maximum = address.count * 8
        guard parts.count == 2 else { return CIDRBlock(address: address, prefixLength: maximum) }
        let prefixText = parts[1]
        guard !prefixText.isEmpty, prefixText.count <= 3, prefixText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let prefix = Int(prefixText), (0...maximum).contains(prefix) else {
            throw ValueError("'\(text)': the prefix length must be a number from 0 to \(maximum)")
        }
        return CIDRBlock(address: address, prefixLength: prefix)
    }

    /// Whether `candidate` (4 or 16 bytes) lies in this block. Families never match each other.
    public func contains(_ candidate: [UInt8]) -> Bool {
        guard candidate.count == address.count else { return false }
        var remaining = prefixLength
        for index in 0..<address.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if candidate[index] & mask != address[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// Canonical text, always with the prefix length (`127.0.0.1/32`, `::1/128`).
    public var description: String {
        if !isIPv6 { return address.map(String.init).joined(separator: ".") + "/\(prefixLength)" }
        var groups: [UInt16] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(UInt16(address[index]) << 8 | UInt16(address[index + 1]))
        }
        return Self.compress(groups) + "/\(prefixLength)"
    }

    /// RFC 5952 form: lower-case hex, the longest run (two or more) of zero groups as `::`.
    private static func compress(_ groups: [UInt16]) -> String {
        var bestStart = -1, bestLength = 0, index = 0
        while index < groups.count {
            guard groups[index] == 0 else { index += 1; continue }
            let start = index
            while index < groups.count && groups[index] == 0 { index += 1 }
            if index - start > bestLength { bestStart = start; bestLength = index - start }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}

import Glibc
import EventLoop

/// A CIDR block matched against a client's socket address without allocating. IPv4-mapped IPv6
/// clients (`::ffff:a.b.c.d`) match IPv4 blocks.
public struct AddressBlock: Sendable, Equatable {
    /// 4 or 16 bytes, network order.
    public var bytes: [UInt8]
    public var prefixLength: Int

    public init(bytes: [UInt8], prefixLength: Int) {
        self.bytes = bytes
        self.prefixLength = prefixLength
    }

    public func contains(_ address: SocketAddress) -> Bool {
        withUnsafeBytes(of: address.storage) { raw -> Bool in
            if address.family == AF_INET {
                guard bytes.count == 4 else { return false }
                let sin = raw.load(as: sockaddr_in.self)
                return withUnsafeBytes(of: sin.sin_addr) { matches(UnsafeRawBufferPointer(rebasing: $0[0..<4])) }
            }
            let sin6 = raw.load(as: sockaddr_in6.self)
            return withUnsafeBytes(of: sin6.sin6_addr) { a in
                if bytes.count == 16 { return matches(UnsafeRawBufferPointer(rebasing: a[0..<16])) }
                let mapped = a[0..<10].allSatisfy { $0 == 0 } && a[10] == 0xFF && a[11] == 0xFF
                return mapped && matches(UnsafeRawBufferPointer(rebasing: a[12..<16]))
            }
        }
    }

    private func matches(_ candidate: UnsafeRawBufferPointer) -> Bool {
        var remaining = prefixLength
        for i in 0..<bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if candidate[i] & mask != bytes[i] & mask { return false }
            remaining -= bits
        }
        return true
    }
}

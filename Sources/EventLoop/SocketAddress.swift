import CLinux
import Glibc

/// An IPv4 or IPv6 socket address, stored inline (no allocation) so it can sit in snapshots and
/// be passed to connect(2) directly.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public private(set) var storage: sockaddr_storage
    public private(set) var length: socklen_t

    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// Parses a numeric IPv4 or IPv6 literal (no brackets) and a port. Names are not resolved
    /// here: see `resolve(host:port:)`, which blocks and belongs to the control plane.
    public init?(ip: String, port: UInt16) {
        var storage = sockaddr_storage()
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr = v4
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: sin) { dst.copyMemory(from: $0) }
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
        } else if inet_pton(AF_INET6, ip, &v6) == 1 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_addr = v6
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: sin6) { dst.copyMemory(from: $0) }
            }
            self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
        } else {
            return nil
        }
    }

    /// Resolves a host name with getaddrinfo (blocking: control plane only), preferring IPv4.
    public static func resolve(host: String, port: UInt16) -> SocketAddress? {
        if let literal = SocketAddress(ip: host, port: port) { return literal }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        var candidate: SocketAddress?
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let sa = info.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(info.pointee.ai_addrlen)))
                }
                let addr = SocketAddress(storage: storage, length: info.pointee.ai_addrlen)
                if info.pointee.ai_family == AF_INET { return addr }
                if candidate == nil { candidate = addr }
            }
            cursor = info.pointee.ai_next
        }
        return candidate
    }

    public var family: Int32 { Int32(storage.ss_family) }

    /// An IPv4 address in host byte order (0 for other families): for formatting it without
    /// inet_ntop, which goes through printf.
    public var ipv4: UInt32 {
        guard family == AF_INET else { return 0 }
        return withUnsafeBytes(of: storage) { UInt32(bigEndian: $0.load(as: sockaddr_in.self).sin_addr.s_addr) }
    }

    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            family == AF_INET6
                ? UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
                : UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
        }
    }

    /// The numeric host, as X-Forwarded-For and logs want it.
    public var ipString: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET6 {
                var a = raw.load(as: sockaddr_in6.self).sin6_addr
                _ = inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
            } else {
                var a = raw.load(as: sockaddr_in.self).sin_addr
                _ = inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
            }
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes the numeric host into `out` without allocating; returns the byte count.
    public func writeIP(into out: UnsafeMutableRawBufferPointer) -> Int {
        guard out.count >= Int(INET6_ADDRSTRLEN) else { return 0 }
        let dst = out.baseAddress!.assumingMemoryBound(to: CChar.self)
        let ok: Bool = withUnsafeBytes(of: storage) { raw in
            if family == AF_INET6 {
                var a = raw.load(as: sockaddr_in6.self).sin6_addr
                return inet_ntop(AF_INET6, &a, dst, socklen_t(out.count)) != nil
            } else {
                var a = raw.load(as: sockaddr_in.self).sin_addr
                return inet_ntop(AF_INET, &a, dst, socklen_t(out.count)) != nil
            }
        }
        return ok ? strlen(dst) : 0
    }

    public var description: String {
        family == AF_INET6 ? "[\(ipString)]:\(port)" : "\(ipString):\(port)"
    }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        guard a.length == b.length else { return false }
        return withUnsafeBytes(of: a.storage) { ra in
            withUnsafeBytes(of: b.storage) { rb in
                memcmp(ra.baseAddress!, rb.baseAddress!, Int(a.length)) == 0
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: storage) { raw in
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<Int(length)]))
        }
    }
}

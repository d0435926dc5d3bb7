import EventLoop
import Glibc
import Testing

@Suite struct SocketAddressTests {
    @Test func parsesIPv4() throws {
        let address = try #require(SocketAddress(ip: "127.0.0.1", port: 8080))
        #expect(address.family == AF_INET)
        #expect(address.port == 8080)
        #expect(address.ipString == "127.0.0.1")
        #expect(address.description == "127.0.0.1:8080")
        #expect(Int(address.length) == MemoryLayout<sockaddr_in>.size)
    }

    @Test(arguments: [
        ("::1", 80, "[::1]:80"),
        ("2001:db8::1", 443, "[2001:db8::1]:443"),
        ("0:0:0:0:0:0:0:1", 8443, "[::1]:8443"),
        ("fe80::1:2", 0, "[fe80::1:2]:0"),
        ("::ffff:10.0.0.1", 65535, "[::ffff:10.0.0.1]:65535"),
    ])
    func parsesIPv6(literal: String, port: Int, description: String) throws {
        let address = try #require(SocketAddress(ip: literal, port: UInt16(port)))
        #expect(address.family == AF_INET6)
        #expect(address.port == UInt16(port))
        #expect(address.description == description)
        #expect(Int(address.length) == MemoryLayout<sockaddr_in6>.size)
    }

    @Test(arguments: [
        "", "localhost", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", " 1.2.3.4", "1.2.3.4 ",
        "1.2.3.4:80", "[::1]", "::1::2", "2001:db8::g", "fe80::1%eth0", "12345::", "::1/128",
    ])
    func rejectsGarbage(literal: String) {
        #expect(SocketAddress(ip: literal, port: 80) == nil)
    }

    @Test func equalityAndHashing() throws {
        let a = try #require(SocketAddress(ip: "10.1.2.3", port: 80))
        let same = try #require(SocketAddress(ip: "10.1.2.3", port: 80))
        let otherPort = try #require(SocketAddress(ip: "10.1.2.3", port: 81))
        let otherHost = try #require(SocketAddress(ip: "10.1.2.4", port: 80))
        let v6 = try #require(SocketAddress(ip: "::1", port: 80))
        let v6Long = try #require(SocketAddress(ip: "0:0::0:1", port: 80))
        let mapped = try #require(SocketAddress(ip: "::ffff:10.1.2.3", port: 80))

        #expect(a == same)
        #expect(a.hashValue == same.hashValue)
        #expect(a != otherPort)
        #expect(a != otherHost)
        #expect(a != v6)
        #expect(a != mapped, "an IPv4-mapped IPv6 address is a different socket address")
        #expect(v6 == v6Long)
        #expect(v6 != SocketAddress(ip: "::2", port: 80), "IPv6 addresses differing only in the last byte")
        #expect(v6 != SocketAddress(ip: "1::1", port: 80), "IPv6 addresses differing only in the first byte")
        #expect(v6 != SocketAddress(ip: "::1", port: 81))
        #expect(v6.hashValue == v6Long.hashValue)

        let set: Set<SocketAddress> = [a, same, otherPort, otherHost, v6, v6Long, mapped]
        #expect(set.count == 5)
        #expect(set.contains(try #require(SocketAddress(ip: "10.1.2.3", port: 81))))
    }

    @Test func writeIPWritesTheNumericHost() throws {
        for (literal, expected) in [("192.168.0.1", "192.168.0.1"), ("2001:db8:0:0::7", "2001:db8::7")] {
            let address = try #require(SocketAddress(ip: literal, port: 1))
            var out = [UInt8](repeating: 0xAA, count: 64)
            let n = out.withUnsafeMutableBytes { address.writeIP(into: $0) }
            #expect(String(decoding: out[0..<n], as: UTF8.self) == expected)
            #expect(address.ipString == expected)
        }
        let address = try #require(SocketAddress(ip: "::1", port: 1))
        var small = [UInt8](repeating: 0, count: 8)
        #expect(small.withUnsafeMutableBytes { address.writeIP(into: $0) } == 0, "too small for any address")
    }

    @Test func resolveReturnsLiteralsWithoutALookup() throws {
        #expect(SocketAddress.resolve(host: "127.0.0.1", port: 9) == SocketAddress(ip: "127.0.0.1", port: 9))
        #expect(SocketAddress.resolve(host: "::1", port: 9)?.description == "[::1]:9")
    }
}

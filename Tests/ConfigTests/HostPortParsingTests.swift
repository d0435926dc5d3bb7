import Config
import Testing

/// `HostPort(parsing:)`: `HOST:PORT`, IPv6 in brackets, port 1...65535.
@Suite struct HostPortParsingTests {
    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", UInt16(8080)),
        ("0.0.0.0:1", "0.0.0.0", 1),
        ("localhost:80", "localhost", 80),
        ("api.internal:443", "api.internal", 443),
        ("blue-1.svc_a.local:9001", "blue-1.svc_a.local", 9001),
        ("[::1]:8080", "::1", 8080),
        ("[::]:65535", "::", 65535),
        ("[2001:db8::1]:443", "2001:db8::1", 443),
        ("[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1", 80),
        ("[1:2:3:4:5:6:7:8]:80", "1:2:3:4:5:6:7:8", 80),
    ])
    func valid(text: String, host: String, port: UInt16) {
        let parsed = HostPort(parsing: text)
        #expect(parsed == HostPort(host: host, port: port))
        #expect(parsed?.description == text)
    }

    @Test(arguments: [
        "127.0.0.1", ":8080", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http",
        "127.0.0.1:-1", "127.0.0.1:+80", "::1:8080", "[::1]8080", "[::1", "[::1]:", "[zz::1]:80",
        "[1::2::3]:80", "[1:2:3:4:5:6:7:8:9]:80", "[fe80::1%eth0]:80", "256.0.0.1:80", "10.0.0:80",
        "010.0.0.1:80", "host name:80", "bad..name:80", "", "*:80",
    ])
    func invalid(text: String) {
        #expect(HostPort(parsing: text) == nil)
    }
}

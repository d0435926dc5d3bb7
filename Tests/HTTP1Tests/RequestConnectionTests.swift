import Testing
import HTTP1

/// wantsClose, expectContinue and upgrade.
@Suite struct RequestConnectionTests {
    private func get(_ fields: String, version: String = "HTTP/1.1") -> ParsedRequest {
        parseRequest("GET / \(version)\r\nHost: a\r\n" + fields + "\r\n")
    }

    @Test(arguments: [
        ("HTTP/1.1", "", false),
        ("HTTP/1.1", "Connection: close\r\n", true),
        ("HTTP/1.1", "Connection: Keep-Alive, CLOSE\r\n", true),
        ("HTTP/1.1", "Connection: keep-alive\r\nConnection: close\r\n", true),
        ("HTTP/1.1", "Connection: closed\r\n", false),
        ("HTTP/1.1", "Proxy-Connection: close\r\n", false),
        ("HTTP/1.0", "", true),
        ("HTTP/1.0", "Connection: keep-alive\r\n", false),
        ("HTTP/1.0", "Connection: Keep-Alive\r\n", false),
        ("HTTP/1.0", "Connection: keep-alive, close\r\n", true),
    ])
    func wantsClose(version: String, fields: String, expected: Bool) {
        let p = get(fields, version: version)
        expectComplete(p.result)
        #expect(p.head.wantsClose == expected)
    }

    @Test(arguments: [
        ("Expect: 100-continue\r\n", "HTTP/1.1", true),
        ("Expect: 100-Continue\r\n", "HTTP/1.1", true),
        ("expect:   100-CONTINUE  \r\n", "HTTP/1.1", true),
        ("Expect: 100-continue-x\r\n", "HTTP/1.1", false),
        ("Expect: foo\r\n", "HTTP/1.1", false),
        ("", "HTTP/1.1", false),
        ("Expect: 100-continue\r\n", "HTTP/1.0", false),
    ])
    func expectContinue(fields: String, version: String, expected: Bool) {
        let p = get(fields, version: version)
        expectComplete(p.result)
        #expect(p.head.expectContinue == expected)
    }

    @Test(arguments: [
        ("Upgrade: websocket\r\nConnection: Upgrade\r\n", "HTTP/1.1", true),
        ("Connection: keep-alive, upgrade\r\nUpgrade: h2c\r\n", "HTTP/1.1", true),
        ("Upgrade: websocket\r\n", "HTTP/1.1", false),
        ("Connection: upgrade\r\n", "HTTP/1.1", false),
        ("Upgrade: websocket\r\nConnection: Upgrade\r\n", "HTTP/1.0", false),
    ])
    func upgrade(fields: String, version: String, expected: Bool) {
        let p = get(fields, version: version)
        expectComplete(p.result)
        #expect(p.head.upgrade == expected)
    }

    @Test func upgradeFieldsAreClassifiedUpgrade() {
        let p = get("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\n")
        #expect(p.kinds == [.host, .upgrade, .hopByHop, .other])
    }
}

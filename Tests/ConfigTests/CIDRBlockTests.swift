import Config
import Testing

/// `CIDRBlock(parsing:)` and `contains`, as used by `override.allow_from`.
@Suite struct CIDRBlockTests {
    @Test(arguments: [
        ("127.0.0.0/8", "127.0.0.0/8"),
        ("10.1.2.3", "10.1.2.3/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("::1/128", "::1/128"),
        ("::1", "::1/128"),
        ("2001:DB8::/32", "2001:db8::/32"),
        ("::/0", "::/0"),
        ("fe80:0:0:0:0:0:0:1/64", "fe80::1/64"),
    ])
    func valid(text: String, canonical: String) {
        #expect(CIDRBlock(parsing: text)?.description == canonical)
    }

    @Test(arguments: ["", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "::1/129", "10.0.0.0/8/8",
                      "10.0.0/8", "localhost", "10.0.0.0/ 8", "1::2::3/64"])
    func invalid(text: String) {
        #expect(CIDRBlock(parsing: text) == nil)
    }

    @Test func containsMatchesThePrefixOnly() throws {
        let loopback = try #require(CIDRBlock(parsing: "127.0.0.0/8"))
        #expect(loopback.contains([127, 9, 9, 9]))
        #expect(!loopback.contains([128, 0, 0, 1]))
        let odd = try #require(CIDRBlock(parsing: "10.0.0.0/9"))
        #expect(odd.contains([10, 127, 0, 1]))
        #expect(!odd.contains([10, 128, 0, 1]))
        let v6 = try #require(CIDRBlock(parsing: "::1"))
        #expect(v6.contains([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))
        #expect(!v6.contains([127, 0, 0, 1]))
        let everything = try #require(CIDRBlock(parsing: "0.0.0.0/0"))
        #expect(everything.contains([203, 0, 113, 7]))
    }
}

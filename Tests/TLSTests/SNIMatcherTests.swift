import TLS
import Testing

@Suite struct SNIMatcherTests {
    func matcher() -> SNIMatcher {
        var m = SNIMatcher()
        m.add(["default.test"], index: 0)
        m.add(["api.example.com", "API2.example.com"], index: 1)
        m.add(["*.example.com"], index: 2)
        m.add(["api.example.com", "*.other.test"], index: 3)  // api.example.com is taken already
        return m
    }

    @Test func exactNamesWinOverWildcards() {
        #expect(matcher().match("api.example.com") == 1)
        #expect(matcher().match("api2.example.com") == 1)
    }

    @Test func wildcardCoversExactlyOneLabel() {
        let m = matcher()
        #expect(m.match("www.example.com") == 2)
        #expect(m.match("example.com") == 0)
        #expect(m.match("a.b.example.com") == 0)
        #expect(m.match("x.other.test") == 3)
    }

    @Test func namesAreCaseInsensitiveAndAbsoluteNamesMatch() {
        #expect(matcher().match("API.Example.COM") == 1)
        #expect(matcher().match("www.example.com.") == 2)
    }

    @Test func unknownOrOddNamesGetTheDefault() {
        let m = matcher()
        #expect(m.match("nothing.test") == 0)
        #expect(m.match("") == 0)
        #expect(m.match(".example.com") == 0)
    }

    @Test func theFirstCertificateToClaimANameKeepsIt() {
        #expect(matcher().match("api.example.com") == 1)
    }

    @Test func partialWildcardsAreIgnored() {
        var m = SNIMatcher()
        m.add(["default.test"], index: 0)
        m.add(["w*.example.com", "*"], index: 1)
        #expect(m.match("www.example.com") == 0)
        #expect(m.match("anything") == 0)
    }
}

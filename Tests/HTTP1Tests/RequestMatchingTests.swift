import Testing
import HTTP1

/// What a routing rule compares a request with: `HostPattern`, `hostName(of:)`,
/// `targetAuthority`, `PathPattern`, and the header and cookie conditions (`anyField`,
/// `anyCookie`, `cookieValue`) on heads parsed from real requests.
@Suite struct RequestMatchingTests {
    // MARK: helpers

    /// Whether `pattern` (as written in a config) matches the Host value `host` (port and
    /// trailing dot included, as a client sends it).
    private func host(_ pattern: String, matches host: String) -> Bool {
        let value = bytes(host)
        return value.withUnsafeBytes { HostPattern(pattern).matches(hostName(of: $0)) }
    }

    private func name(of host: String) -> String {
        let value = bytes(host)
        return value.withUnsafeBytes { string(Array(hostName(of: $0))) }
    }

    private func authority(ofTarget target: String) -> String? {
        // Put the target inside a larger buffer so offsets are not trivially 0.
        let source = bytes("GET " + target + " HTTP/1.1")
        let range = 4..<(4 + target.utf8.count)
        return source.withUnsafeBytes { raw in
            targetAuthority(raw, target: range).map { string(source, $0) }
        }
    }

    private func path(_ pattern: PathPattern, matches path: String) -> Bool {
        bytes(path).withUnsafeBytes { pattern.matches($0) }
    }

    /// A parsed request with `fields` (each "Name: value") after `Host: h`.
    private func request(_ fields: [String]) -> ParsedRequest {
        let p = parseRequest("GET / HTTP/1.1\r\nHost: h\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n")
        expectComplete(p.result)
        return p
    }

    private func hasField(_ p: ParsedRequest, _ fieldName: String, equals value: String?) -> Bool {
        let n = bytes(fieldName)
        let v = value.map(bytes)
        return p.bytes.withUnsafeBytes { source in
            n.withUnsafeBytes { n in
                if let v {
                    return v.withUnsafeBytes { anyField(named: n, equals: $0, in: p.head.fields, source: source) }
                }
                return anyField(named: n, equals: nil, in: p.head.fields, source: source)
            }
        }
    }

    private func hasCookie(_ p: ParsedRequest, _ cookieName: String, equals value: String?) -> Bool {
        let n = bytes(cookieName)
        let v = value.map(bytes)
        return p.bytes.withUnsafeBytes { source in
            n.withUnsafeBytes { n in
                if let v {
                    return v.withUnsafeBytes { anyCookie(named: n, equals: $0, in: p.head.fields, source: source) }
                }
                return anyCookie(named: n, equals: nil, in: p.head.fields, source: source)
            }
        }
    }

    private func cookie(_ p: ParsedRequest, _ cookieName: String) -> String? {
        let n = bytes(cookieName)
        return p.bytes.withUnsafeBytes { source in
            n.withUnsafeBytes { n in
                cookieValue(named: n, in: p.head.fields, source: source).map { p.text($0) }
            }
        }
    }

    // MARK: HostPattern

    @Test func exactHostIgnoresCaseAndPort() {
        #expect(host("api.example.com", matches: "api.example.com"))
        #expect(host("api.example.com", matches: "API.Example.COM"))
        #expect(host("API.EXAMPLE.COM", matches: "api.example.com"))
        #expect(host("api.example.com", matches: "api.example.com:8080"))
        #expect(!host("api.example.com", matches: "api.example.co"))
        #expect(!host("api.example.com", matches: "api.example.com.evil"))
        #expect(!host("api.example.com", matches: "xapi.example.com"))
        #expect(!host("api.example.com", matches: "b.api.example.com"))
        #expect(!host("api.example.com", matches: ""))
    }

    @Test func trailingDotOnEitherSideIsTheSameName() {
        #expect(host("example.com", matches: "example.com."))
        #expect(host("example.com", matches: "Example.COM.:8080"))
        #expect(host("example.com.", matches: "example.com"))
        #expect(HostPattern("Example.COM.") == .exact(bytes("example.com")))
    }

    @Test func wildcardMatchesExactlyOneLabel() {
        #expect(HostPattern("*.Example.com") == .oneLabel(suffix: bytes(".example.com")))
        #expect(host("*.example.com", matches: "a.example.com"))
        #expect(host("*.example.com", matches: "www-2.example.com:443"))
        #expect(host("*.example.com", matches: "A.EXAMPLE.COM"))
        #expect(host("*.example.com", matches: "a.example.com."))
        #expect(!host("*.example.com", matches: "example.com"))
        #expect(!host("*.example.com", matches: ".example.com"))
        #expect(!host("*.example.com", matches: "a.b.example.com"))
        #expect(!host("*.example.com", matches: "aexample.com"))
        #expect(!host("*.example.com", matches: "xaexample.com"))
        #expect(!host("*.example.com", matches: "a.example.org"))
        #expect(!host("*.example.com", matches: "a.example.com.evil"))
    }

    @Test func aStarThatIsNotALabelPrefixIsLiteral() {
        #expect(HostPattern("*") == .exact(bytes("*")))
        #expect(!host("*", matches: "a"))
        #expect(HostPattern("*example.com") == .exact(bytes("*example.com")))
        #expect(!host("*example.com", matches: "aexample.com"))
    }

    @Test func internationalisedNamesCompareInPunycode() {
        // bücher.example as clients send it (RFC 5891): ASCII, any case.
        #expect(host("xn--bcher-kva.example", matches: "XN--BCHER-KVA.example"))
        #expect(host("XN--bcher-KVA.example", matches: "xn--bcher-kva.EXAMPLE:443"))
        #expect(host("*.xn--bcher-kva.example", matches: "shop.XN--BCHER-KVA.example"))
        #expect(!host("xn--bcher-kva.example", matches: "xn--bcher-kvb.example"))
    }

    @Test func ipLiteralsKeepTheirBrackets() {
        #expect(host("[::1]", matches: "[::1]:80"))
        #expect(host("127.0.0.1", matches: "127.0.0.1:8080"))
        #expect(!host("[::1]", matches: "[::2]"))
    }

    // MARK: hostName(of:)

    @Test(arguments: [
        ("example.com", "example.com"),
        ("example.com:8080", "example.com"),
        ("Example.COM.:8080", "Example.COM"),
        ("example.com.", "example.com"),
        ("example.com:", "example.com"),
        ("[::1]:80", "[::1]"),
        ("[::1]", "[::1]"),
        ("[2001:db8::1]:8443", "[2001:db8::1]"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("", ""),
    ])
    func hostNameStripsPortAndTrailingDot(value: String, expected: String) {
        #expect(name(of: value) == expected)
    }

    // MARK: targetAuthority

    @Test(arguments: [
        ("http://a.example:8080/x", "a.example:8080" as String?),
        ("http://a.example/x?y", "a.example"),
        ("https://A.Example", "A.Example"),
        ("http://a.example?q=/x", "a.example"),
        ("http://[::1]:8080/", "[::1]:8080"),
        ("/x", nil),
        ("/http://a.example/", nil),
        ("*", nil),
        ("a.example:443", nil),
    ])
    func authorityOfAbsoluteFormOnly(target: String, expected: String?) {
        #expect(authority(ofTarget: target) == expected)
    }

    @Test func authorityOfAParsedAbsoluteFormRequest() throws {
        let p = parseRequest("GET http://api.example.com:8080/v2/x?y HTTP/1.1\r\nHost: other.example\r\n\r\n")
        expectComplete(p.result)
        let range = try #require(p.bytes.withUnsafeBytes { targetAuthority($0, target: p.head.target) })
        #expect(p.text(range) == "api.example.com:8080")
        let matched = p.bytes.withUnsafeBytes { source in
            HostPattern("api.example.com").matches(hostName(of: UnsafeRawBufferPointer(rebasing: source[range])))
        }
        #expect(matched)
    }

    // MARK: PathPattern

    @Test func exactPathMatchesOnlyItself() {
        let pattern = PathPattern.exact(bytes("/healthz"))
        #expect(path(pattern, matches: "/healthz"))
        #expect(!path(pattern, matches: "/healthz/"))
        #expect(!path(pattern, matches: "/healthzz"))
        #expect(!path(pattern, matches: "/health"))
        #expect(!path(pattern, matches: "/HEALTHZ"))
        #expect(!path(pattern, matches: ""))
    }

    @Test(arguments: ["/static", "/static/"])
    func prefixEndsOnASegmentBoundary(written: String) {
        let pattern = PathPattern.prefix(written)
        #expect(pattern == .prefix(bytes("/static")))
        #expect(path(pattern, matches: "/static"))
        #expect(path(pattern, matches: "/static/"))
        #expect(path(pattern, matches: "/static/a.css"))
        #expect(path(pattern, matches: "/static/css/a.css"))
        #expect(!path(pattern, matches: "/staticfoo"))
        #expect(!path(pattern, matches: "/static.css"))
        #expect(!path(pattern, matches: "/stati"))
        #expect(!path(pattern, matches: "/Static/a.css"))
        #expect(!path(pattern, matches: "/other/static/a.css"))
        #expect(!path(pattern, matches: ""))
    }

    @Test func deeperPrefix() {
        let pattern = PathPattern.prefix("/v2/api/")
        #expect(path(pattern, matches: "/v2/api"))
        #expect(path(pattern, matches: "/v2/api/users"))
        #expect(!path(pattern, matches: "/v2/apix"))
        #expect(!path(pattern, matches: "/v2"))
    }

    @Test func rootPrefixMatchesEveryPath() {
        let pattern = PathPattern.prefix("/")
        #expect(pattern == .prefix(bytes("/")))
        #expect(path(pattern, matches: "/"))
        #expect(path(pattern, matches: "/a"))
        #expect(path(pattern, matches: "/a/b/c"))
        #expect(path(pattern, matches: "//x"))
        #expect(!path(pattern, matches: ""))  // asterisk-form, authority-form
    }

    // MARK: anyField

    @Test func aRepeatedFieldMatchesOnAnyOccurrence() {
        let p = request(["X-Group: a", "Accept: */*", "X-Group: b"])
        #expect(hasField(p, "X-Group", equals: "a"))
        #expect(hasField(p, "X-Group", equals: "b"))
        #expect(!hasField(p, "X-Group", equals: "c"))
        // A field's value is compared whole, never split on commas.
        #expect(!hasField(p, "X-Group", equals: "a, b"))
        let joined = request(["X-Group: a, b"])
        #expect(hasField(joined, "X-Group", equals: "a, b"))
        #expect(!hasField(joined, "X-Group", equals: "b"))
    }

    @Test func fieldPresence() {
        let p = request(["X-Internal-User: 1", "X-Empty:"])
        #expect(hasField(p, "X-Internal-User", equals: nil))
        #expect(hasField(p, "x-internal-user", equals: nil))
        #expect(hasField(p, "X-Empty", equals: nil))
        #expect(hasField(p, "X-Empty", equals: ""))
        #expect(!hasField(p, "X-Internal", equals: nil))
        #expect(!hasField(p, "X-Internal-User-Id", equals: nil))
        #expect(!hasField(p, "X-Missing", equals: nil))
    }

    @Test func namesIgnoreCaseValuesDoNot() {
        let p = request(["x-internal-user: Yes"])
        #expect(hasField(p, "X-INTERNAL-USER", equals: "Yes"))
        #expect(!hasField(p, "X-Internal-User", equals: "yes"))
        #expect(!hasField(p, "X-Internal-User", equals: "YES"))
    }

    @Test func valuesAreComparedWithoutTheirSurroundingWhitespace() {
        let p = request(["X-Internal-User: \t 1  "])
        #expect(hasField(p, "X-Internal-User", equals: "1"))
        #expect(!hasField(p, "X-Internal-User", equals: " 1"))
    }

    @Test func theHostFieldCanBeMatchedByName() {
        let p = request(["X-A: 1"])
        #expect(hasField(p, "host", equals: "h"))
    }

    // MARK: anyCookie / cookieValue

    @Test func cookiesInOneField() {
        let p = request(["Cookie: a=1; b=2"])
        #expect(hasCookie(p, "a", equals: "1"))
        #expect(hasCookie(p, "b", equals: "2"))
        #expect(!hasCookie(p, "b", equals: "1"))
        #expect(hasCookie(p, "b", equals: nil))
        #expect(!hasCookie(p, "c", equals: nil))
        #expect(cookie(p, "a") == "1")
        #expect(cookie(p, "b") == "2")
        #expect(cookie(p, "c") == nil)
    }

    @Test func cookiesAcrossSeveralFields() {
        let p = request(["Cookie: a=1", "X-Other: beta=no", "cookie: beta=yes; c=3", "COOKIE: d=4"])
        #expect(hasCookie(p, "beta", equals: "yes"))
        #expect(hasCookie(p, "d", equals: "4"))
        #expect(hasCookie(p, "a", equals: nil))
        #expect(cookie(p, "c") == "3")
        #expect(cookie(p, "d") == "4")
        // Only Cookie fields hold cookies.
        #expect(!hasCookie(p, "beta", equals: "no"))
    }

    @Test func spacingAroundPairs() {
        let p = request(["Cookie:   a=1 ;  b=2 ;c=3;d=4  "])
        #expect(cookie(p, "a") == "1")
        #expect(cookie(p, "b") == "2")
        #expect(cookie(p, "c") == "3")
        #expect(cookie(p, "d") == "4")
        #expect(hasCookie(p, "b", equals: "2"))
        #expect(!hasCookie(p, "b", equals: "2 "))
    }

    @Test func aPairWithoutEqualsIsSkipped() {
        let p = request(["Cookie: flag; beta=yes; other"])
        #expect(!hasCookie(p, "flag", equals: nil))
        #expect(!hasCookie(p, "other", equals: nil))
        #expect(hasCookie(p, "beta", equals: "yes"))
        #expect(cookie(p, "beta") == "yes")
        #expect(cookie(p, "flag") == nil)
    }

    @Test func theSameCookieTwice() {
        let p = request(["Cookie: beta=no; beta=yes"])
        // Any occurrence satisfies a condition; a lookup gives the first.
        #expect(hasCookie(p, "beta", equals: "no"))
        #expect(hasCookie(p, "beta", equals: "yes"))
        #expect(!hasCookie(p, "beta", equals: "maybe"))
        #expect(cookie(p, "beta") == "no")
        let twoFields = request(["Cookie: beta=no", "Cookie: beta=yes"])
        #expect(hasCookie(twoFields, "beta", equals: "yes"))
        #expect(cookie(twoFields, "beta") == "no")
    }

    @Test func cookieNamesAreExactAndCaseSensitive() {
        let p = request(["Cookie: Beta=yes; xbeta=yes; beta_x=yes"])
        #expect(!hasCookie(p, "beta", equals: nil))
        #expect(hasCookie(p, "Beta", equals: "yes"))
        #expect(!hasCookie(p, "Beta", equals: "YES"))
    }

    @Test func emptyValuesAndValuesHoldingEquals() {
        let p = request(["Cookie: empty=; token=a=b=="])
        #expect(hasCookie(p, "empty", equals: nil))
        #expect(hasCookie(p, "empty", equals: ""))
        #expect(cookie(p, "empty") == "")
        #expect(cookie(p, "token") == "a=b==")
        #expect(hasCookie(p, "token", equals: "a=b=="))
    }

    @Test func noCookieField() {
        let p = request(["X-A: a=1"])
        #expect(!hasCookie(p, "a", equals: nil))
        #expect(cookie(p, "a") == nil)
    }
}

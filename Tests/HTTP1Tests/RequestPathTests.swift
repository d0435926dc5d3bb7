import Testing
import HTTP1

/// `requestPath(_:target:)`, `pathNeedsNormalizing` and `normalizePath(_:into:)`: the path a
/// routing rule is matched on, and the normal form (RFC 3986 §5.2.4, §6.2.2) that is both matched
/// and forwarded.
@Suite struct RequestPathTests {
    /// The path of the target of `requestLine` as `requestPath` finds it in a parsed request, and
    /// its range relative to the target's start.
    private func path(ofRequestLine requestLine: String) -> (path: String, offset: Range<Int>)? {
        let p = parseRequest(requestLine + "\r\nHost: h\r\n\r\n")
        expectComplete(p.result)
        guard case .success = p.result else { return nil }
        let target = p.head.target
        let range = p.bytes.withUnsafeBytes { requestPath($0, target: target) }
        #expect(range.lowerBound >= target.lowerBound && range.upperBound <= target.upperBound)
        return (p.text(range), (range.lowerBound - target.lowerBound)..<(range.upperBound - target.lowerBound))
    }

    /// The normal form of `text` written into a buffer of `capacity` bytes (the path's length by
    /// default), or nil when `normalizePath` refuses the buffer.
    private func normalized(_ text: String, capacity: Int? = nil) -> String? {
        let input = bytes(text)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity ?? input.count, alignment: 1)
        defer { out.deallocate() }
        let length = input.withUnsafeBytes { normalizePath($0, into: out) }
        guard let length else { return nil }
        #expect(length <= input.count, "the normal form is never longer than the path")
        return string(Array(out[0..<length]))
    }

    private func needsNormalizing(_ text: String) -> Bool {
        bytes(text).withUnsafeBytes { pathNeedsNormalizing($0) }
    }

    // MARK: requestPath

    @Test func originFormStopsAtTheQuery() throws {
        let found = try #require(path(ofRequestLine: "GET /a/b?x=1&y=/z HTTP/1.1"))
        #expect(found.path == "/a/b")
        #expect(found.offset == 0..<4)
    }

    @Test func originFormWithoutQueryIsTheWholeTarget() throws {
        #expect(try #require(path(ofRequestLine: "GET /a/b/ HTTP/1.1")).path == "/a/b/")
        #expect(try #require(path(ofRequestLine: "GET / HTTP/1.1")).path == "/")
        // An empty query still ends the path.
        #expect(try #require(path(ofRequestLine: "GET /a? HTTP/1.1")).path == "/a")
    }

    @Test func originFormMayStartWithEmptySegments() throws {
        // Valid origin-form (RFC 3986 path-absolute allows empty segments), which is why a
        // redirect must never put the request's path right after an empty location: "//host/x"
        // in a Location field is a network-path reference to another host.
        #expect(try #require(path(ofRequestLine: "GET //evil.example/x?y HTTP/1.1")).path == "//evil.example/x")
        #expect(normalized("//evil.example/x") == "//evil.example/x")
        #expect(normalized("/./evil.example/x") == "/evil.example/x")
    }

    @Test func absoluteFormSkipsSchemeAndAuthority() throws {
        let found = try #require(path(ofRequestLine: "GET http://h:8080/a/b?x HTTP/1.1"))
        #expect(found.path == "/a/b")
        #expect(found.offset == 13..<17)
        #expect(try #require(path(ofRequestLine: "GET https://user@h/x HTTP/1.1")).path == "/x")
    }

    @Test func absoluteFormWithAnEmptyPathGivesAnEmptyRange() throws {
        let bare = try #require(path(ofRequestLine: "GET http://h:8080 HTTP/1.1"))
        #expect(bare.path == "")
        #expect(bare.offset == 13..<13)
        // A query right after the authority: still no path, and the query is not taken for one.
        let query = try #require(path(ofRequestLine: "GET http://h?a=/b HTTP/1.1"))
        #expect(query.path == "")
        #expect(query.offset == 8..<8)
    }

    @Test func asteriskAndAuthorityFormHaveNoPath() throws {
        #expect(try #require(path(ofRequestLine: "OPTIONS * HTTP/1.1")).path == "")
        #expect(try #require(path(ofRequestLine: "CONNECT h.example:443 HTTP/1.1")).path == "")
        #expect(try #require(path(ofRequestLine: "CONNECT h:1 HTTP/1.1")).path == "")
    }

    @Test func anEmptyTargetHasAnEmptyPath() {
        let source = bytes("xx")
        let range = source.withUnsafeBytes { requestPath($0, target: 1..<1) }
        #expect(range == 1..<1)
    }

    // MARK: pathNeedsNormalizing

    @Test(arguments: [
        ("/a/b/c", false),
        ("/", false),
        ("", false),
        ("/a//b", false),
        ("/.well-known/x", false),   // a dot starting a longer segment
        ("/a/..b/c.", false),
        ("/a/b...", false),
        ("/a/./b", true),
        ("/a/../b", true),
        ("/a/.", true),
        ("/a/..", true),
        ("..", true),
        ("./a", true),
        ("/%7Euser", true),          // may hide an unreserved character
        ("/a%2Fb", true),            // conservative: any percent-encoding
    ])
    func detectsWhatNormalizingWouldChange(path: String, expected: Bool) {
        #expect(needsNormalizing(path) == expected)
    }

    @Test(arguments: ["/a/b/c", "/", "/a//b", "/.well-known/x", "/a/..b/c.", "/x-y_z~"])
    func pathsSaidNotToNeedItAreAlreadyNormal(path: String) {
        #expect(!needsNormalizing(path))
        #expect(normalized(path) == path)
    }

    // MARK: normalizePath

    @Test(arguments: [
        // RFC 3986 §5.2.4 and its examples
        ("/a/b/c/./../../g", "/a/g"),
        ("/../a", "/a"),
        ("/../../a", "/a"),
        ("/a/..", "/"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/a/./b", "/a/b"),
        ("/./", "/"),
        ("/.", "/"),
        ("/..", "/"),
        ("/a//b/../c", "/a//c"),
        ("/a//..", "/a/"),
        ("/a/b/../../..", "/"),
        ("/a/..b/c..", "/a/..b/c.."),
        // RFC 3986 §6.2.2.2: percent-encoded unreserved characters decoded
        ("/%7Euser", "/~user"),
        ("/%7euser", "/~user"),
        ("/%41", "/A"),
        ("/%61dmin/", "/admin/"),
        ("/%2D%2e%5F%30", "/-._0"),
        // ...and dot segments decoded first are removed after
        ("/%2e%2E/admin", "/admin"),
        ("/x/%2e/admin", "/x/admin"),
        ("/x/%2E%2E/admin", "/admin"),
        // §6.2.2.1: other encodings kept, hex upper-cased; an encoded slash is never a separator
        ("/a%2fb", "/a%2Fb"),
        ("/a%2Fb", "/a%2Fb"),
        ("/%2e%2e%2fadmin", "/..%2Fadmin"),
        ("/x/..%2F..%2Fadmin", "/x/..%2F..%2Fadmin"),
        ("/caf%c3%a9", "/caf%C3%A9"),
        ("/a%20b", "/a%20b"),
        // not encodings: left as they are
        ("/%zz", "/%zz"),
        ("/%g1", "/%g1"),
        ("/a%4", "/a%4"),
        ("/a%", "/a%"),
        ("/a%%41", "/a%A"),
    ])
    func normalizes(path: String, expected: String) {
        #expect(normalized(path) == expected)
    }

    @Test func aRelativePathKeepsItsDotSegments() {
        // Only a path from "/" has a root to resolve against; asterisk- and authority-form have none.
        #expect(normalized("a/../b") == "a/../b")
        #expect(normalized("") == "")
    }

    @Test(arguments: ["/a/b/c/./../../g", "/%2e%2E/admin", "/a%2fb", "/a//b/../c", "/%7e/./%41/..", "/a/b/.."])
    func normalizingIsIdempotent(path: String) throws {
        let once = try #require(normalized(path))
        #expect(normalized(once) == once)
        // Nothing left that the cheap check would send back to `normalizePath` for a change
        // (it stays true while an encoding like %2F remains, which is harmless).
        if !once.contains("%") { #expect(!needsNormalizing(once)) }
    }

    @Test func aBufferSmallerThanThePathIsRefused() {
        #expect(normalized("/a/../b", capacity: 6) == nil)
        // Even when the normal form would fit: the contract is a buffer as long as the path.
        #expect(normalized("/%41", capacity: 2) == nil)
        #expect(normalized("/%41", capacity: 4) == "/A")
        #expect(normalized("/a", capacity: 0) == nil)
        // A larger buffer is fine.
        #expect(normalized("/a/./b", capacity: 64) == "/a/b")
    }
}

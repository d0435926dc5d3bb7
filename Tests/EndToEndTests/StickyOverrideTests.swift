import Foundation
import Testing

/// Issue 4: the sticky pool cookie (kept while the split is fractional, re-assigned when its pool
/// drops to weight 0, never set at 100/0) and the override header (allowed addresses only, never
/// forwarded, wins over the cookie).
@Suite struct StickyOverrideTests {
    static let sticky = ["sticky:", "  cookie: cutover_pool"]
    static let override = ["override:", "  header: X-Cutover-Pool"]

    static func cookie(_ pool: String) -> String { "cutover_pool=\(pool); Path=/; HttpOnly; SameSite=Lax" }

    /// The pool a `Set-Cookie: cutover_pool=POOL; …` names, nil without one.
    static func assigned(_ response: HTTPResponse) -> String? {
        response.values("Set-Cookie").first { $0.hasPrefix("cutover_pool=") }
            .map { String($0.dropFirst("cutover_pool=".count).prefix { $0 != ";" }) }
    }

    @Test func aClientKeepsItsPoolWhileANewClientGetsACookie() async throws {
        let s = try await ColourBed.start([("blue", 50), ("green", 50)], routeLines: Self.sticky)
        defer { s.bed.tearDown() }

        let first = try await s.get()
        let pool = try #require(Self.assigned(first), "no Set-Cookie: \(first.headers)")
        #expect(first.answeredBy == pool)
        #expect(first.values("Set-Cookie") == [Self.cookie(pool)])

        // Twenty requests with the cookie on one keep-alive connection: same pool, no new cookie.
        let client = try RawClient(port: s.port)
        var seen: [String] = []
        for _ in 0..<20 {
            try client.send(ColourBed.request("/", ["Cookie: cutover_pool=\(pool)"]))
            let response = try await client.readResponse()
            seen.append(response.answeredBy)
            #expect(response.values("Set-Cookie").isEmpty, "\(response.headers)")
        }
        #expect(seen == Array(repeating: pool, count: 20))

        // New clients each get a cookie naming the pool that answered them; both pools are given out.
        var given: Set<String> = []
        for _ in 0..<4 {
            let response = try await s.get()
            let named = try #require(Self.assigned(response), "no Set-Cookie: \(response.headers)")
            #expect(response.answeredBy == named)
            given.insert(named)
        }
        #expect(given == ["blue", "green"])

        // The cookie is found among others; a cookie naming no pool is replaced.
        let other = pool == "blue" ? "green" : "blue"
        let among = try await s.get("/", ["Cookie: theme=dark; cutover_pool=\(other); lang=en"])
        #expect(among.answeredBy == other)
        #expect(among.values("Set-Cookie").isEmpty)
        let unknown = try await s.get("/", ["Cookie: cutover_pool=purple"])
        let replaced = try #require(Self.assigned(unknown), "no Set-Cookie for an unknown pool: \(unknown.headers)")
        #expect(unknown.answeredBy == replaced)
        #expect(["blue", "green"].contains(replaced))
    }

    @Test func aCookieWhosePoolDropsToWeightZeroIsReassigned() async throws {
        let s = try await ColourBed.start([("blue", 50), ("green", 50), ("red", 0)], routeLines: Self.sticky)
        defer { s.bed.tearDown() }
        let before = try await s.get("/", ["Cookie: cutover_pool=blue"])
        #expect(before.answeredBy == "blue")
        #expect(Self.assigned(before) == nil)

        let reload = try await s.reload(s.config([("blue", 0), ("green", 50), ("red", 50)], routeLines: Self.sticky))
        #expect(reload.response.status == 200, "\(reload.response.bodyText)")

        let moved = try await s.get("/", ["Cookie: cutover_pool=blue"])
        let pool = try #require(Self.assigned(moved), "no new Set-Cookie for a cookie naming a weight-0 pool: \(moved.headers)")
        #expect(pool == "green" || pool == "red")
        #expect(moved.answeredBy == pool)
        #expect(moved.values("Set-Cookie") == [Self.cookie(pool)])
        let client = try RawClient(port: s.port)
        for _ in 0..<10 {
            try client.send(ColourBed.request("/", ["Cookie: cutover_pool=\(pool)"]))
            let response = try await client.readResponse()
            #expect(response.answeredBy == pool)
            #expect(response.values("Set-Cookie").isEmpty)
        }
        #expect(try await s["blue"].counts().heads == 1)
    }

    @Test func noCookieIsSetWhileTheSplitIsNotFractional() async throws {
        let s = try await ColourBed.start([("blue", 100), ("green", 0)], routeLines: Self.sticky)
        defer { s.bed.tearDown() }
        for headers in [[], ["Cookie: cutover_pool=green"], ["Cookie: cutover_pool=blue"], ["Cookie: cutover_pool=purple"]] {
            let response = try await s.get("/", headers)
            #expect(response.answeredBy == "blue", "\(headers)")
            #expect(response.values("Set-Cookie").isEmpty, "\(headers): \(response.headers)")
        }
        #expect(try await s["green"].counts().heads == 0)
    }

    @Test func anAllowedClientReachesAWeightZeroPoolAndTheHeaderIsNotForwarded() async throws {
        let s = try await ColourBed.start([("blue", 100), ("green", 0)], routeLines: Self.override)
        defer { s.bed.tearDown() }

        let pinned = try await s.get("/headers", ["X-Cutover-Pool: green"])
        #expect(pinned.answeredBy == "green")
        #expect(try !pinned.echoedFieldNames.contains("x-cutover-pool"), "\(pinned.bodyText)")
        #expect(try await s.get("/", ["x-cutover-pool: green"]).answeredBy == "green")
        #expect(try await s.get("/").answeredBy == "blue")

        // A name that is no pool: the split decides, and the header is still removed.
        let unknown = try await s.get("/headers", ["X-Cutover-Pool: purple"])
        #expect(unknown.answeredBy == "blue")
        #expect(try !unknown.echoedFieldNames.contains("x-cutover-pool"), "\(unknown.bodyText)")
        #expect(try await s.heads() == ["blue": 2, "green": 2])
    }

    @Test func theHeaderFromAnAddressNotAllowedIsIgnoredAndNotForwarded() async throws {
        let s = try await ColourBed.start([("blue", 100), ("green", 0)],
                                          routeLines: Self.override + ["  allow_from: [10.0.0.0/8]"])
        defer { s.bed.tearDown() }

        for value in ["green", "blue"] {
            let response = try await s.get("/headers", ["X-Cutover-Pool: \(value)"])
            #expect(response.answeredBy == "blue")
            #expect(try !response.echoedFieldNames.contains("x-cutover-pool"), "\(response.bodyText)")
        }
        #expect(try await s["green"].counts().heads == 0)
    }

    @Test func theOverrideWinsOverTheStickyCookie() async throws {
        let s = try await ColourBed.start([("blue", 50), ("green", 50)], routeLines: Self.sticky + Self.override)
        defer { s.bed.tearDown() }

        let client = try RawClient(port: s.port)
        for (headers, expected) in [(["Cookie: cutover_pool=blue", "X-Cutover-Pool: green"], "green"),
                                    (["Cookie: cutover_pool=green", "X-Cutover-Pool: blue"], "blue"),
                                    (["Cookie: cutover_pool=blue"], "blue"),
                                    (["X-Cutover-Pool: green", "Cookie: cutover_pool=blue"], "green")] {
            try client.send(ColourBed.request("/headers", headers))
            let response = try await client.readResponse()
            #expect(response.answeredBy == expected, "\(headers)")
            #expect(try !response.echoedFieldNames.contains("x-cutover-pool"), "\(response.bodyText)")
        }
    }
}

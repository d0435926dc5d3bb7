import Testing
import HTTP1

@Suite struct FieldLookupTests {
    private func lookup(_ request: String, field: String) -> String? {
        let p = parseRequest(request)
        expectComplete(p.result)
        let name = bytes(field)
        return p.bytes.withUnsafeBytes { source in
            name.withUnsafeBytes { n in
                indexOfField(named: n, in: p.head.fields, source: source).map { i in
                    string(Array(source[p.head.fields[i].value]))
                }
            }
        }
    }

    private func cookie(_ request: String, _ cookieName: String) -> String? {
        let p = parseRequest(request)
        expectComplete(p.result)
        let name = bytes(cookieName)
        return p.bytes.withUnsafeBytes { source in
            name.withUnsafeBytes { n in
                cookieValue(named: n, in: p.head.fields, source: source).map { string(Array(source[$0])) }
            }
        }
    }

    @Test func findsAFieldCaseInsensitively() {
        #expect(lookup("GET / HTTP/1.1\r\nHost: a\r\nx-cutover-pool: green\r\n\r\n", field: "X-Cutover-Pool") == "green")
        #expect(lookup("GET / HTTP/1.1\r\nHost: a\r\nX-Cutover-Poo: green\r\n\r\n", field: "X-Cutover-Pool") == nil)
    }

    @Test(arguments: [
        ("cutover_pool=blue", "blue"),
        ("a=1; cutover_pool=green; b=2", "green"),
        ("a=1;cutover_pool=green", "green"),
        ("cutover_pool_x=blue; cutover_pool=green", "green"),
        ("xcutover_pool=blue", nil),
        ("cutover_pool", nil),
    ] as [(String, String?)])
    func readsOneCookie(header: String, expected: String?) {
        #expect(cookie("GET / HTTP/1.1\r\nHost: a\r\nCookie: \(header)\r\n\r\n", "cutover_pool") == expected)
    }

    @Test func readsCookiesAcrossSeveralFields() {
        #expect(cookie("GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\ncookie: cutover_pool=blue\r\n\r\n", "cutover_pool") == "blue")
    }
}

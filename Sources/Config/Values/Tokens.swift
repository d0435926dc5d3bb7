/// Character rules for names that end up on the wire or on the command line.
enum Tokens {
    /// An HTTP token (RFC 9110 `tchar`): what header field names and cookie names (RFC 6265) are made
    /// of. Anything else would make the proxy emit or expect a malformed header.
    static func isHTTPToken(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            guard scalar.isASCII else { return false }
            let c = Character(scalar)
            return c.isLetter || c.isNumber || "!#$%&'*+-.^_`|~".contains(c)
        }
    }

    /// A listener, route or pool name: letters, digits, `_`, `-` and `.`, starting with a letter or
    /// digit. These names appear in `cutover switch ROUTE POOL`, admin JSON and metric labels, where
    /// spaces, quotes or slashes would only cause trouble.
    static func isName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCII,
              Character(first).isLetter || Character(first).isNumber else { return false }
        return text.unicodeScalars.allSatisfy { scalar in
            guard scalar.isASCII else { return false }
            let c = Character(scalar)
            return c.isLetter || c.isNumber || c == "_" || c == "-" || c == "."
        }
    }

    /// Printable ASCII without spaces: what fits in `Authorization: Bearer <token>` unquoted.
    static func isBearerToken(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f }
    }
}

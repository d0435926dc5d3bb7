extension HostPort {
    /// Parses `HOST:PORT`; nil when `text` is not a valid address (see `parse(_:)` for the rules).
    ///
    /// For callers outside the config file, such as the command line's `--admin HOST:PORT`.
    public init?(parsing text: String) {
        guard let value = try? HostPort.parse(text) else { return nil }
        self = value
    }

    /// Parses `HOST:PORT` with a reason on failure.
    ///
    /// - `HOST` is an IPv4 literal (`127.0.0.1`), an IPv6 literal in brackets (`[::1]`, stored without
    ///   them), or a host name (`localhost`, `api.internal`), kept as written and resolved later.
    /// - `PORT` is a decimal number in 1...65535; service names are not looked up.
    static func parse(_ text: String) throws(ValueError) -> HostPort {
        let usage = "expected HOST:PORT like 127.0.0.1:8080 or [::1]:8080"
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw ValueError("'\(text)' has no closing ']' (\(usage))")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { throw ValueError("'\(text)' has no port (\(usage))") }
            portText = rest.dropFirst()
            guard IPAddressParsing.ipv6(host) != nil else {
                throw ValueError("'\(host)' is not a valid IPv6 address")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ValueError("'\(text)' has no port (\(usage))")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw ValueError("'\(text)': an IPv6 address must be written in brackets, like [::1]:8080")
            }
            guard !host.isEmpty else { throw ValueError("'\(text)' has no host (\(usage))") }
            try validateName(host, in: text)
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (1...65535).contains(port) else {
            throw ValueError("'\(text)': the port must be a number from 1 to 65535")
        }
        return HostPort(host: String(host), port: UInt16(port))
    }

    /// An IPv4 literal must be a real one (`10.0.0.256` is a typo, not a host name); anything else
    /// must look like a DNS name: labels of letters, digits, `-` and `_`, separated by dots.
    private static func validateName(_ host: Substring, in text: String) throws(ValueError) {
        let looksNumeric = host.allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "." }
        if looksNumeric {
            guard IPAddressParsing.ipv4(host) != nil else {
                throw ValueError("'\(host)' is not a valid IPv4 address")
            }
            return
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let valid = host.count <= 253 && labels.allSatisfy { label in
            (1...63).contains(label.count)
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
        guard valid else { throw ValueError("'\(host)' is not a valid host name or IP address") }
    }
}

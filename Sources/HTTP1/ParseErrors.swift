/// The rejections the parsers share, named once so every parser says the same thing for the same
/// fault. Computed, not stored: errors are the cold path and need no global initialisation.
extension HTTPParseError {
    static var bareLF: HTTPParseError { .init(.malformed, "bare LF line terminator") }
    static var bareCR: HTTPParseError { .init(.malformed, "bare CR") }
    static var obsFold: HTTPParseError { .init(.malformed, "obsolete line folding") }
    static var badFieldName: HTTPParseError { .init(.malformed, "invalid field name") }
    static var spaceBeforeColon: HTTPParseError { .init(.malformed, "whitespace between field name and colon") }
    static var badFieldValue: HTTPParseError { .init(.malformed, "control character in field value") }
    static var tooManyFields: HTTPParseError { .init(.headerTooLarge, "too many header fields") }
    static var headTooLarge: HTTPParseError { .init(.headerTooLarge, "header section too large") }
    static var badContentLength: HTTPParseError { .init(.malformed, "invalid Content-Length") }
    static var conflictingContentLength: HTTPParseError { .init(.malformed, "conflicting Content-Length values") }
    static var badTransferEncoding: HTTPParseError { .init(.malformed, "invalid Transfer-Encoding") }
    static var chunkedTwice: HTTPParseError { .init(.malformed, "chunked applied more than once") }
    static var transferEncodingWithContentLength: HTTPParseError {
        .init(.malformed, "Transfer-Encoding together with Content-Length")
    }
    static var transferEncodingInHTTP10: HTTPParseError { .init(.malformed, "Transfer-Encoding in an HTTP/1.0 message") }
    static var badHost: HTTPParseError { .init(.malformed, "invalid Host (not a host name, IPv4 or [IP literal] with at most one port)") }
    static var traceWithBody: HTTPParseError { .init(.malformed, "TRACE with a body") }
    static var badConnection: HTTPParseError { .init(.malformed, "invalid Connection option") }
    static var badVersion: HTTPParseError { .init(.malformed, "invalid HTTP version") }
    static var unsupportedVersion: HTTPParseError { .init(.versionNotSupported, "HTTP version not supported") }
}

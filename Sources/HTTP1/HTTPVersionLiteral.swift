/// Parses the 8-byte `HTTP-version = "HTTP" "/" DIGIT "." DIGIT` (RFC 9112 §2.3; the name is
/// case-sensitive). HTTP/1.0 and HTTP/1.1 are accepted; any other well-formed version is
/// 505 (versionNotSupported); anything else is 400.
func parseHTTPVersion(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(HTTPParseError) -> HTTPVersion {
    guard range.count == 8 else { throw .badVersion }
    let s = range.lowerBound
    guard bytes[s] == 0x48, bytes[s + 1] == 0x54, bytes[s + 2] == 0x54, bytes[s + 3] == 0x50,
          bytes[s + 4] == 0x2F, ASCII.isDigit(bytes[s + 5]), bytes[s + 6] == 0x2E,
          ASCII.isDigit(bytes[s + 7])
    else { throw .badVersion }
    guard bytes[s + 5] == 0x31 else { throw .unsupportedVersion }
    switch bytes[s + 7] {
    case 0x30: return .http10
    case 0x31: return .http11
    default: throw .unsupportedVersion
    }
}

/// One line of a header (or trailer) section, as found by `parseFieldLine`.
enum FieldLine {
    /// A complete, valid field line; `value` is trimmed of leading and trailing OWS.
    case field(name: Range<Int>, value: Range<Int>, next: Int)
    /// The empty line that ends the section; `next` is the first byte after its CRLF.
    case endOfSection(next: Int)
    /// The line is not complete within `end`: read more.
    case incomplete
}

/// Parses the field line starting at `start` (RFC 9112 §5, RFC 9110 §5.5) in one pass, validating
/// as it goes so malformed input is rejected as soon as the offending byte arrives:
/// - a line starting with SP/HTAB is obsolete line folding → 400;
/// - the name must be a non-empty token directly followed by ':' (whitespace before the colon → 400);
/// - the value may hold HTAB, SP, VCHAR and obs-text only (NUL, bare CR, other controls, DEL → 400);
/// - lines end with CRLF; a bare LF → 400.
/// Shared by the request and response parsers and mirrored byte by byte by the chunked decoder's
/// trailer states, so every section obeys the same rules.
@inline(__always)
func parseFieldLine(_ bytes: UnsafeRawBufferPointer, at start: Int, end: Int) throws(HTTPParseError) -> FieldLine {
    var i = start
    guard i < end else { return .incomplete }
    let first = bytes[i]
    if first == ASCII.cr {
        guard i + 1 < end else { return .incomplete }
        guard bytes[i + 1] == ASCII.lf else { throw .bareCR }
        return .endOfSection(next: i + 2)
    }
    if first == ASCII.lf { throw .bareLF }
    if ASCII.isWhitespace(first) { throw .obsFold }

    while i < end && ASCII.isTchar(bytes[i]) { i += 1 }
    guard i < end else { return .incomplete }
    let nameEnd = i
    guard bytes[i] == ASCII.colon, nameEnd > start else {
        if ASCII.isWhitespace(bytes[i]) && nameEnd > start { throw .spaceBeforeColon }
        if bytes[i] == ASCII.lf { throw .bareLF }
        throw .badFieldName
    }
    i += 1
    while i < end && ASCII.isWhitespace(bytes[i]) { i += 1 }
    let valueStart = i
    var valueEnd = i
    while i < end {
        let b = bytes[i]
        if b > ASCII.sp && b != 0x7F {
            i += 1
            valueEnd = i
        } else if ASCII.isWhitespace(b) {
            i += 1
        } else if b == ASCII.cr {
            guard i + 1 < end else { return .incomplete }
            guard bytes[i + 1] == ASCII.lf else { throw .bareCR }
            return .field(name: start..<nameEnd, value: valueStart..<valueEnd, next: i + 2)
        } else if b == ASCII.lf {
            throw .bareLF
        } else {
            throw .badFieldValue
        }
    }
    return .incomplete
}

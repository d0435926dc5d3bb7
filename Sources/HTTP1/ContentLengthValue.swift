/// Parses a Content-Length value (RFC 9112 §6.3, RFC 9110 §8.6) strictly, because a framing
/// disagreement between us and the upstream is how requests get smuggled:
/// - digits only: no sign, no inner whitespace, no empty value;
/// - a comma-list of identical values ("42, 42", sent by some intermediaries) counts as one value;
///   differing elements, or an empty element, are rejected;
/// - a value that does not fit 64 bits is rejected.
func parseContentLength(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) throws(HTTPParseError) -> UInt64 {
    var result: UInt64?
    var i = value.lowerBound
    let end = value.upperBound
    while true {
        while i < end && ASCII.isWhitespace(bytes[i]) { i += 1 }
        var n: UInt64 = 0
        let digitsStart = i
        while i < end && ASCII.isDigit(bytes[i]) {
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(bytes[i] &- 0x30))
            if o1 || o2 { throw .badContentLength }
            n = s
            i += 1
        }
        guard i > digitsStart else { throw .badContentLength }
        while i < end && ASCII.isWhitespace(bytes[i]) { i += 1 }
        if let r = result, r != n { throw .conflictingContentLength }
        result = n
        if i == end { return n }
        guard bytes[i] == ASCII.comma else { throw .badContentLength }
        i += 1
    }
}

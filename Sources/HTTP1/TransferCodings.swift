/// What a Transfer-Encoding list says, accumulated over every Transfer-Encoding field of a head
/// (several fields are one list, in order; RFC 9110 §5.3).
struct TransferCodings {
    var present = false
    var chunkedCount = 0
    var lastIsChunked = false
    /// Codings other than chunked (gzip, deflate…): a request with one is refused (501), as
    /// nginx does, so what goes upstream is always exactly `Transfer-Encoding: chunked`.
    var otherCount = 0

    /// Adds one field value: a non-empty list of `transfer-coding = token *( OWS ";" OWS
    /// token BWS "=" BWS ( token / quoted-string ) )` (RFC 9112 §7). Anything else is rejected:
    /// an intermediary that cannot read the codings cannot know where the body ends.
    mutating func add(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) throws(HTTPParseError) {
        present = true
        var i = value.lowerBound
        let end = value.upperBound
        var sawCoding = false
        while true {
            while i < end && (ASCII.isWhitespace(bytes[i]) || bytes[i] == ASCII.comma) { i += 1 }
            if i == end { break }
            let name = try scanToken(bytes, &i, end)
            sawCoding = true
            lastIsChunked = equalsLowercase(bytes, name, "chunked")
            if lastIsChunked { chunkedCount += 1 } else { otherCount += 1 }
            // Parameters, up to the next comma or the end.
            while true {
                skipWhitespace(bytes, &i, end)
                if i == end || bytes[i] == ASCII.comma { break }
                guard bytes[i] == ASCII.semicolon else { throw .badTransferEncoding }
                i += 1
                skipWhitespace(bytes, &i, end)
                _ = try scanToken(bytes, &i, end)
                skipWhitespace(bytes, &i, end)
                guard i < end, bytes[i] == ASCII.equals else { throw .badTransferEncoding }
                i += 1
                skipWhitespace(bytes, &i, end)
                if i < end && bytes[i] == ASCII.dquote {
                    try skipQuotedString(bytes, &i, end)
                } else {
                    _ = try scanToken(bytes, &i, end)
                }
            }
        }
        guard sawCoding else { throw .badTransferEncoding }
    }
}

@inline(__always)
private func skipWhitespace(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int) {
    while i < end && ASCII.isWhitespace(bytes[i]) { i += 1 }
}

/// Consumes a non-empty token at `i` and returns its range.
@inline(__always)
private func scanToken(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int) throws(HTTPParseError) -> Range<Int> {
    let start = i
    while i < end && ASCII.isTchar(bytes[i]) { i += 1 }
    guard i > start else { throw .badTransferEncoding }
    return start..<i
}

/// Consumes a quoted-string (RFC 9110 §5.6.4) starting at the opening DQUOTE at `i`.
private func skipQuotedString(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int) throws(HTTPParseError) {
    i += 1
    while i < end {
        let b = bytes[i]
        if b == ASCII.dquote { i += 1; return }
        if b == ASCII.backslash {
            i += 1
            guard i < end, ASCII.isFieldValueByte(bytes[i]) else { throw .badTransferEncoding }
        } else if !ASCII.isFieldValueByte(b) {
            throw .badTransferEncoding
        }
        i += 1
    }
    throw .badTransferEncoding
}

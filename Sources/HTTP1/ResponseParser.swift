/// Parses a response head from the upstream (RFC 9112 §4–§6), with the same field rules as
/// requests: our upstreams are trusted to be correct, and rejecting their malformations (the
/// proxy answers 502) keeps a confused upstream from confusing the client.
///
/// Status line: `HTTP-version SP 3DIGIT SP reason-phrase CRLF`, status 100–599, the reason may be
/// empty. The one leniency: the SP after the status code may be missing when there is no reason
/// (`HTTP/1.1 200\r\n`, which several servers send). HTTP/1.0 and HTTP/1.1 only (other HTTP/x.y
/// → versionNotSupported). No leading empty line is tolerated.
///
/// Framing (RFC 9112 §6.3): 1xx, 204, 304 and any response to HEAD have no body (`.none`);
/// else Transfer-Encoding with `chunked` final → `.chunked`, with another final coding →
/// `.untilClose`; else Content-Length → `.contentLength` (`.none` for 0); else `.untilClose`.
/// Transfer-Encoding with Content-Length, Transfer-Encoding in HTTP/1.0 (RFC 9112 §6.1: faulty
/// framing), or `chunked` twice → malformed.
///
/// `wantsClose`: Connection: close, HTTP/1.0 without keep-alive, or a close-delimited body.
/// Returns `.incomplete` until the head is complete; 431 past `maxHeaderBytes` or `maxFields`.
/// `head` is reset first; its `fields` capacity is kept.
public func parseResponseHead(
    _ bytes: UnsafeRawBufferPointer, requestWasHEAD: Bool, limits: ParseLimits,
    into head: inout ResponseHead
) throws(HTTPParseError) -> HeadParseResult {
    head.reset()
    let end = min(bytes.count, limits.maxHeaderBytes)
    guard let fieldsStart = try parseStatusLine(bytes, end: end, into: &head) else {
        return try incompleteHead(bytes, limits)
    }
    var summary = FieldSummary()
    guard let headLength = try parseFieldSection(
        bytes, from: fieldsStart, end: end, maxFields: limits.maxFields,
        fields: &head.fields, summary: &summary)
    else {
        return try incompleteHead(bytes, limits)
    }
    head.headLength = headLength
    try applyResponseSemantics(summary, requestWasHEAD: requestWasHEAD, bytes, &head)
    return .complete
}

private let statusCodeOffset = 9
private let reasonOffset = 13

/// Parses the status line and returns the offset of the first field line, or nil if it is not
/// complete within `end`. Bytes are checked as they arrive, so garbage is rejected early.
private func parseStatusLine(
    _ bytes: UnsafeRawBufferPointer, end: Int, into head: inout ResponseHead
) throws(HTTPParseError) -> Int? {
    // "HTTP/" checked on whatever prefix has arrived, the full version once 8 bytes are here.
    let prefix: StaticString = "HTTP/"
    let prefixMatches = prefix.withUTF8Buffer { p in
        var k = 0
        while k < p.count && k < end {
            if bytes[k] != p[k] { return false }
            k += 1
        }
        return true
    }
    guard prefixMatches else { throw .badVersion }
    guard end > 8 else { return nil }
    head.version = try parseHTTPVersion(bytes, 0..<8)
    guard bytes[8] == ASCII.sp else { throw HTTPParseError(.malformed, "invalid status line") }

    var status = 0
    for k in statusCodeOffset..<(statusCodeOffset + 3) {
        guard k < end else { return nil }
        guard ASCII.isDigit(bytes[k]) else { throw HTTPParseError(.malformed, "invalid status code") }
        status = status * 10 + Int(bytes[k] &- 0x30)
    }
    guard (100...599).contains(status) else { throw HTTPParseError(.malformed, "invalid status code") }

    var i = statusCodeOffset + 3
    guard i < end else { return nil }
    let reasonStart: Int
    if bytes[i] == ASCII.sp {
        reasonStart = reasonOffset
        i += 1
    } else if bytes[i] == ASCII.cr {
        reasonStart = i
    } else {
        throw HTTPParseError(.malformed, "invalid status line")
    }
    while i < end && bytes[i] != ASCII.cr {
        let b = bytes[i]
        if b == ASCII.lf { throw .bareLF }
        guard ASCII.isFieldValueByte(b) else { throw HTTPParseError(.malformed, "control character in reason phrase") }
        i += 1
    }
    guard i + 1 < end else { return nil }
    guard bytes[i + 1] == ASCII.lf else { throw .bareCR }
    head.status = status
    head.statusLine = 0..<i
    head.reason = reasonStart..<i
    return i + 2
}

/// Framing and connection management once all fields are known.
private func applyResponseSemantics(
    _ summary: FieldSummary, requestWasHEAD: Bool, _ bytes: UnsafeRawBufferPointer,
    _ head: inout ResponseHead
) throws(HTTPParseError) {
    let http11 = head.version == .http11
    let codings = summary.transferCodings
    if codings.present {
        if summary.contentLength != nil { throw .transferEncodingWithContentLength }
        if !http11 { throw .transferEncodingInHTTP10 }
        if codings.chunkedCount > 1 { throw .chunkedTwice }
    }

    let status = head.status
    if head.isInformational || status == 204 || status == 304 || requestWasHEAD {
        head.framing = .none
    } else if codings.present {
        head.framing = codings.lastIsChunked ? .chunked : .untilClose
    } else if let length = summary.contentLength {
        head.framing = length > 0 ? .contentLength(length) : .none
    } else {
        head.framing = .untilClose
    }

    head.wantsClose = summary.connectionClose || (!http11 && !summary.connectionKeepAlive)
        || head.framing == .untilClose
    if summary.connectionNamesFields {
        demoteConnectionNominatedFields(&head.fields, in: bytes)
    }
}

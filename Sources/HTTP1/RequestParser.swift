/// Parses a request head (RFC 9112 §2–§6) from `bytes`, all bytes received so far for this
/// message, starting at its request line. Strict, because whatever we accept the upstream must
/// read the same way:
/// - request line `method SP request-target SP HTTP-version CRLF`, single spaces, the method a
///   token, the target free of controls, DEL and spaces (obs-text is let through: raw UTF-8 paths
///   are common and harmless to forward); HTTP/1.0 and HTTP/1.1 only (other HTTP/x.y → 505);
/// - one leading empty line (CRLF) before the request line is skipped, as RFC 9112 §2.2 allows
///   (some clients send one after a POST body); a second one is rejected. It counts in
///   `headLength`, and offsets stay relative to `bytes`;
/// - every line ends with CRLF; bare LF and bare CR → 400; obs-fold → 400;
/// - Host exactly once in HTTP/1.1 (at most once in HTTP/1.0); Content-Length digits only and
///   consistent; Transfer-Encoding never with Content-Length, never in HTTP/1.0, `chunked` once
///   and final (otherwise unsupportedTransferCoding).
///
/// Returns `.incomplete` until the empty line ending the head has arrived; throws 431 as soon as
/// more than `maxHeaderBytes` arrived without a complete head, 414 as soon as the target exceeds
/// `maxTargetBytes`, and rejects malformed lines as soon as they are complete. `head` is reset
/// first (its `fields` capacity is kept); on `.complete` it describes the head, which is
/// `head.headLength` bytes long, and further bytes (a body, a pipelined request) are untouched.
/// The caller calls again with all the bytes when more arrive: each call re-scans from the start,
/// which the header limit bounds.
///
/// `framing` is `.none` when there is no body, including `Content-Length: 0`, so callers test one
/// case for "no body". `expectContinue` and `upgrade` are set for HTTP/1.1 only (RFC 9110 §10.1.1
/// and §7.8 ask to ignore them in HTTP/1.0).
public func parseRequestHead(
    _ bytes: UnsafeRawBufferPointer, limits: ParseLimits, into head: inout RequestHead
) throws(HTTPParseError) -> HeadParseResult {
    head.reset()
    let end = min(bytes.count, limits.maxHeaderBytes)
    guard let fieldsStart = try parseRequestLine(bytes, end: end, limits: limits, into: &head) else {
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
    try applyRequestSemantics(summary, bytes, &head)
    if head.framing != .none, equalsExactly(bytes, head.method, "TRACE") { throw .traceWithBody }
    return .complete
}

/// The verdict when the head did not end within the bytes looked at.
@inline(__always)
func incompleteHead(_ bytes: UnsafeRawBufferPointer, _ limits: ParseLimits) throws(HTTPParseError) -> HeadParseResult {
    if bytes.count > limits.maxHeaderBytes { throw .headTooLarge }
    return .incomplete
}

/// Parses the request line (after at most one leading CRLF) and returns the offset of the first
/// field line, or nil if the line is not complete within `end`.
private func parseRequestLine(
    _ bytes: UnsafeRawBufferPointer, end: Int, limits: ParseLimits, into head: inout RequestHead
) throws(HTTPParseError) -> Int? {
    var i = 0
    if end > 0 && bytes[0] == ASCII.cr {
        guard end > 1 else { return nil }
        guard bytes[1] == ASCII.lf else { throw .bareCR }
        i = 2
    }

    let methodStart = i
    while i < end && ASCII.isTchar(bytes[i]) { i += 1 }
    guard i < end else { return nil }
    guard i > methodStart, bytes[i] == ASCII.sp else {
        if bytes[i] == ASCII.lf { throw .bareLF }
        throw HTTPParseError(.malformed, "invalid method")
    }
    let method = methodStart..<i
    i += 1

    let targetStart = i
    while i < end && ASCII.isTargetByte(bytes[i]) {
        i += 1
        if i - targetStart > limits.maxTargetBytes { throw HTTPParseError(.uriTooLong, "request-target too long") }
    }
    guard i < end else { return nil }
    guard i > targetStart, bytes[i] == ASCII.sp else {
        if bytes[i] == ASCII.lf { throw .bareLF }
        throw HTTPParseError(.malformed, "invalid request-target")
    }
    let target = targetStart..<i
    i += 1

    let versionStart = i
    while i < end && bytes[i] != ASCII.cr {
        if bytes[i] == ASCII.lf { throw .bareLF }
        if i - versionStart == 8 { throw .badVersion }
        i += 1
    }
    guard i + 1 < end else { return nil }
    guard bytes[i + 1] == ASCII.lf else { throw .bareCR }
    head.version = try parseHTTPVersion(bytes, versionStart..<i)
    try checkTargetForm(bytes, method: method, target: target)
    head.method = method
    head.target = target
    head.isHEAD = equalsExactly(bytes, method, "HEAD")
    head.isCONNECT = equalsExactly(bytes, method, "CONNECT")
    return i + 2
}

/// The rules that need the whole head: Host, framing, connection management.
private func applyRequestSemantics(
    _ summary: FieldSummary, _ bytes: UnsafeRawBufferPointer, _ head: inout RequestHead
) throws(HTTPParseError) {
    let http11 = head.version == .http11
    if summary.hostCount > 1 { throw HTTPParseError(.malformed, "more than one Host") }
    if http11 && summary.hostCount == 0 { throw HTTPParseError(.malformed, "missing Host") }

    let codings = summary.transferCodings
    if codings.present {
        if summary.contentLength != nil { throw .transferEncodingWithContentLength }
        if !http11 { throw .transferEncodingInHTTP10 }
        if codings.chunkedCount > 1 { throw .chunkedTwice }
        if !codings.lastIsChunked {
            throw HTTPParseError(.unsupportedTransferCoding, "final transfer coding is not chunked")
        }
        if codings.otherCount > 0 {
            throw HTTPParseError(.notImplemented, "transfer codings other than chunked are not forwarded")
        }
        head.framing = .chunked
    } else if let length = summary.contentLength, length > 0 {
        head.framing = .contentLength(length)
    } else {
        head.framing = .none
    }

    head.wantsClose = summary.connectionClose || (!http11 && !summary.connectionKeepAlive)
    head.expectContinue = http11 && summary.expectContinue
    head.upgrade = http11 && summary.upgradeField && summary.connectionUpgrade
    if summary.connectionNamesFields {
        demoteConnectionNominatedFields(&head.fields, in: bytes)
    }
}

/// RFC 9112 §3.2: origin-form (`/…`) for any method; absolute-form (`http://…`, `https://…`, which a
/// server must accept, §3.2.2); authority-form only for CONNECT (§3.2.3); asterisk-form only for
/// OPTIONS (§3.2.4). Found by the differential run against llhttp.
private func checkTargetForm(_ bytes: UnsafeRawBufferPointer, method: Range<Int>, target: Range<Int>) throws(HTTPParseError) {
    if bytes[target.lowerBound] == 0x2F || equalsExactly(bytes, method, "CONNECT") { return }
    if equalsExactly(bytes, target, "*") {
        if equalsExactly(bytes, method, "OPTIONS") { return }
        throw HTTPParseError(.malformed, "asterisk-form request-target for a method other than OPTIONS")
    }
    let s = target.lowerBound
    if target.count > 7 && equalsLowercase(bytes, s..<(s + 7), "http://") { return }
    if target.count > 8 && equalsLowercase(bytes, s..<(s + 8), "https://") { return }
    throw HTTPParseError(.malformed, "request-target form not allowed for this method")
}

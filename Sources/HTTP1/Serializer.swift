/// Writing the rewritten heads the proxy forwards. Fields are copied from the parsed bytes
/// (`source`, the buffer the head was parsed from) as `name: value CRLF`, with the name's case
/// and the value untouched; the proxy only drops, adds and merges fields. Each writer returns the
/// number of bytes written into `out`, or nil if `out` is too small — reserve the matching
/// `…UpperBound` and it never is.

/// A size that `writeUpstreamRequestHead` never exceeds for this head: the parsed head, one byte
/// per field (the ": " separator may be one byte longer than the original), the client address,
/// and the fields the proxy adds.
public func upstreamRequestHeadUpperBound(_ head: RequestHead, clientAddressCount: Int) -> Int {
    head.headLength + head.fields.count + clientAddressCount + 256
}

/// A size that `writeClientResponseHead` never exceeds for this head.
public func clientResponseHeadUpperBound(_ head: ResponseHead) -> Int {
    head.headLength + head.fields.count + 256
}

/// Writes the request head sent to the upstream:
/// - `METHOD SP target SP HTTP/1.1 CRLF` — always HTTP/1.1 towards the upstream;
/// - every field except hop-by-hop ones (including those named by Connection), the client's
///   X-Forwarded-Proto, and Upgrade unless `keepUpgrade`; Host is copied as is;
/// - the framing in one canonical form whatever the client wrote that the parser accepted
///   (`Content-Length: 007`, `5, 5`, two identical fields, `Transfer-Encoding: Chunked`): one
///   `Content-Length: N` in plain digits, or `Transfer-Encoding: chunked`, so no backend can read
///   the body's length differently from us; `Content-Length: 0` stays when the client sent it;
/// - one `X-Forwarded-For`: the client's values (empty ones skipped) joined by ", ", then
///   `clientAddress` (ASCII, e.g. `127.0.0.1`);
/// - `X-Forwarded-Proto: <forwardedProto>`, replacing whatever the client sent;
/// - `Connection: upgrade` if `keepUpgrade`; otherwise no Connection field (HTTP/1.1 keeps the
///   upstream connection alive by default, which the idle pool relies on);
/// - `Host: <fallbackHost>` when the request has no Host (an HTTP/1.0 client may omit it, but
///   the upstream request is HTTP/1.1, where a missing Host is a 400); `fallbackHost` is counted
///   in the upper bound's slack only up to 64 bytes, so callers add longer ones to it;
/// - `extraFields` as given (complete `Name: value CRLF` lines: a route's header edits), after
///   the client's fields (add their count to the upper bound);
/// - the final CRLF.
/// `target` replaces the request target when given (a normalised path and the query; add its
/// count to the upper bound).
public func writeUpstreamRequestHead(
    _ head: RequestHead, from source: UnsafeRawBufferPointer, clientAddress: UnsafeRawBufferPointer,
    forwardedProto: StaticString, keepUpgrade: Bool,
    fallbackHost: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
    target: UnsafeRawBufferPointer? = nil,
    extraFields: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
    into out: UnsafeMutableRawBufferPointer
) -> Int? {
    var cursor = OutputCursor(out)
    cursor.write(source, head.method)
    cursor.write(" ")
    if let target { cursor.write(target) } else { cursor.write(source, head.target) }
    cursor.write(" HTTP/1.1\r\n")

    var sawHost = false
    var sawContentLength = false
    for field in head.fields {
        switch field.kind {
        case .hopByHop, .xForwardedProto, .xForwardedFor:
            continue
        case .contentLength:
            sawContentLength = true
        case .transferEncoding:
            continue
        case .upgrade:
            if keepUpgrade { cursor.writeField(field, from: source) }
        case .host:
            sawHost = true
            cursor.writeField(field, from: source)
        case .other:
            cursor.writeField(field, from: source)
        }
    }
    switch head.framing {
    case .contentLength(let length):
        cursor.write("Content-Length: ")
        cursor.writeDecimal(length)
        cursor.write("\r\n")
    case .chunked:
        cursor.write("Transfer-Encoding: chunked\r\n")
    case .none, .untilClose:
        if sawContentLength { cursor.write("Content-Length: 0\r\n") }
    }
    if !sawHost && fallbackHost.count > 0 {
        cursor.write("Host: ")
        cursor.write(fallbackHost)
        cursor.write("\r\n")
    }

    cursor.write("X-Forwarded-For: ")
    for field in head.fields where field.kind == .xForwardedFor && !field.value.isEmpty {
        cursor.write(source, field.value)
        cursor.write(", ")
    }
    cursor.write(clientAddress)
    cursor.write("\r\nX-Forwarded-Proto: ")
    cursor.write(forwardedProto)
    cursor.write("\r\n")
    cursor.write(extraFields)
    if keepUpgrade { cursor.write("Connection: upgrade\r\n") }
    cursor.write("\r\n")
    return cursor.result
}

/// Writes the response head sent to the client:
/// - the status line with its version rewritten to `HTTP/1.1` (we speak HTTP/1.1 to the client
///   whatever the upstream spoke), status code and reason kept (`HTTP/1.1 200 \r\n` when the
///   upstream sent no reason: the SP before the reason is mandatory);
/// - every field except hop-by-hop ones; Transfer-Encoding only if `!dechunk` (a de-chunked
///   body goes to an HTTP/1.0 client close-delimited); Upgrade fields only if `keepUpgrade`;
/// - one Connection field listing, in order, `upgrade` if `keepUpgrade`, `close` if
///   `closeClient`, `keep-alive` if `clientIsHTTP10 && !closeClient` (an HTTP/1.0 client closes
///   by default); no Connection field if none applies;
/// - `extraFields` as given (complete `Name: value CRLF` lines the proxy adds, e.g. a
///   Set-Cookie for a sticky pool; add their count to the upper bound);
/// - the final CRLF.
public func writeClientResponseHead(
    _ head: ResponseHead, from source: UnsafeRawBufferPointer, closeClient: Bool,
    clientIsHTTP10: Bool, dechunk: Bool, keepUpgrade: Bool,
    extraFields: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
    into out: UnsafeMutableRawBufferPointer
) -> Int? {
    var cursor = OutputCursor(out)
    cursor.write("HTTP/1.1 ")
    cursor.writeDecimal(UInt64(clamping: head.status))
    cursor.write(" ")
    cursor.write(source, head.reason)
    cursor.write("\r\n")

    for field in head.fields {
        switch field.kind {
        case .hopByHop:
            continue
        case .transferEncoding:
            if !dechunk { cursor.writeField(field, from: source) }
        case .upgrade:
            if keepUpgrade { cursor.writeField(field, from: source) }
        case .other, .host, .contentLength, .xForwardedFor, .xForwardedProto:
            cursor.writeField(field, from: source)
        }
    }

    let keepAlive = clientIsHTTP10 && !closeClient
    if keepUpgrade || closeClient || keepAlive {
        cursor.write("Connection: ")
        var first = true
        if keepUpgrade {
            cursor.write("upgrade")
            first = false
        }
        if closeClient {
            if !first { cursor.write(", ") }
            cursor.write("close")
            first = false
        }
        if keepAlive {
            if !first { cursor.write(", ") }
            cursor.write("keep-alive")
        }
        cursor.write("\r\n")
    }
    if extraFields.count > 0 { cursor.write(extraFields) }
    cursor.write("\r\n")
    return cursor.result
}

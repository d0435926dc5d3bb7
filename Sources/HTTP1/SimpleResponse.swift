/// The proxy's own answers (errors, mostly), written without building strings: the status line,
/// `Content-Type: text/plain`, `Content-Length`, `Connection: close` when `close`, and the body.
public func writeSimpleResponse(
    status: Int, reason: StaticString, body: StaticString, close: Bool,
    into out: UnsafeMutableRawBufferPointer
) -> Int? {
    var cursor = OutputCursor(out)
    cursor.write("HTTP/1.1 ")
    cursor.writeDecimal(UInt64(clamping: status))
    cursor.write(" ")
    cursor.write(reason)
    cursor.write("\r\nContent-Type: text/plain\r\nContent-Length: ")
    cursor.writeDecimal(UInt64(body.utf8CodeUnitCount))
    cursor.write("\r\n")
    if close { cursor.write("Connection: close\r\n") }
    cursor.write("\r\n")
    cursor.write(body)
    return cursor.result
}

/// An answer the proxy gives for a routing rule (`respond:`, `redirect:`): the status line, the
/// `extraFields` lines (a Location, the rule's header edits), `Content-Type: text/plain` and
/// `Content-Length` when there is a body (`Content-Length: 0` otherwise), `Connection: close`
/// when `close`, and the body — not for a HEAD (`headOnly`), whose head still says what a GET
/// would get (RFC 9110 §9.3.2). Reserve `simpleResponseUpperBound(bodyCount:) + extraFields.count`.
public func writeLocalResponse(
    status: Int, body: UnsafeRawBufferPointer, headOnly: Bool = false, extraFields: UnsafeRawBufferPointer, close: Bool,
    into out: UnsafeMutableRawBufferPointer
) -> Int? {
    var cursor = OutputCursor(out)
    cursor.write("HTTP/1.1 ")
    cursor.writeDecimal(UInt64(clamping: status))
    cursor.write(" ")
    cursor.write(reasonPhrase(status))
    cursor.write("\r\n")
    cursor.write(extraFields)
    if body.count > 0 { cursor.write("Content-Type: text/plain\r\n") }
    cursor.write("Content-Length: ")
    cursor.writeDecimal(UInt64(body.count))
    cursor.write("\r\n")
    if close { cursor.write("Connection: close\r\n") }
    cursor.write("\r\n")
    if !headOnly { cursor.write(body) }
    return cursor.result
}

/// A size that `writeSimpleResponse` never exceeds for a body of `bodyCount` bytes and a reason
/// phrase of at most 64 bytes.
public func simpleResponseUpperBound(bodyCount: Int) -> Int {
    bodyCount + 192
}

/// The standard reason phrase for the statuses the proxy answers itself (and a few common
/// others); an empty phrase, which HTTP allows, for anything else.
public func reasonPhrase(_ status: Int) -> StaticString {
    switch status {
    case 100: "Continue"
    case 101: "Switching Protocols"
    case 200: "OK"
    case 201: "Created"
    case 202: "Accepted"
    case 204: "No Content"
    case 301: "Moved Permanently"
    case 302: "Found"
    case 303: "See Other"
    case 304: "Not Modified"
    case 307: "Temporary Redirect"
    case 308: "Permanent Redirect"
    case 400: "Bad Request"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 410: "Gone"
    case 408: "Request Timeout"
    case 413: "Content Too Large"
    case 414: "URI Too Long"
    case 417: "Expectation Failed"
    case 421: "Misdirected Request"
    case 429: "Too Many Requests"
    case 431: "Request Header Fields Too Large"
    case 500: "Internal Server Error"
    case 501: "Not Implemented"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    case 504: "Gateway Timeout"
    case 505: "HTTP Version Not Supported"
    default: ""
    }
}

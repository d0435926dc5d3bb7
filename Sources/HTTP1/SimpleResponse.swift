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
    case 204: "No Content"
    case 400: "Bad Request"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
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

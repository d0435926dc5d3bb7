import EventLoop
import HTTP1

/// The proxy's own answers: a status line, a short plain-text body, and a close.
func writeErrorResponse(status: Int, into out: inout ByteBuffer) {
    let body: StaticString = switch status {
    case 400: "Bad Request\n"
    case 408: "Request Timeout\n"
    case 413: "Content Too Large\n"
    case 414: "URI Too Long\n"
    case 431: "Request Header Fields Too Large\n"
    case 501: "Not Implemented\n"
    case 502: "Bad Gateway: the upstream failed or answered garbage\n"
    case 503: "Service Unavailable: no usable backend\n"
    case 504: "Gateway Timeout: the upstream did not answer in time\n"
    case 505: "HTTP Version Not Supported\n"
    default: "Error\n"
    }
    let space = out.writableSpace(minimum: 512)
    if let written = writeSimpleResponse(status: status, reason: reasonPhrase(status), body: body, close: true, into: space) {
        out.didWrite(written)
    }
}

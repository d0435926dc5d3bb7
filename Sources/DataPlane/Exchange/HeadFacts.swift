import HTTP1

/// What an exchange keeps of a request head once it has been forwarded. The parsed head itself
/// (with its field list) lives in the worker and is reused by every exchange: only one head is
/// parsed and rewritten at a time per thread, and an idle connection then holds no field arrays.
struct RequestFacts {
    var headLength = 0
    var version: HTTPVersion = .http11
    var framing: BodyFraming = .none
    var wantsClose = false
    var upgrade = false
    var isHEAD = false
    var isCONNECT = false
    /// GET, HEAD or OPTIONS without a body: safe to send again if a backend died on it.
    var replayable = false
    /// GET or HEAD: a redirect of it may be a 301 (other methods get a 308, which keeps them).
    var isGETOrHEAD = false

    init() {}

    /// The facts of `head`, whose bytes are at the front of `source` (the method is read there).
    init(_ head: RequestHead, source: UnsafeRawBufferPointer) {
        headLength = head.headLength
        version = head.version
        framing = head.framing
        wantsClose = head.wantsClose
        upgrade = head.upgrade
        isHEAD = head.isHEAD
        isCONNECT = head.isCONNECT
        replayable = framing == .none && isSafeMethod(source, head.method)
        isGETOrHEAD = isHEAD || isMethod(source, head.method, "GET")
    }
}

/// What an exchange keeps of a response head (see `RequestFacts`).
struct ResponseFacts {
    var status = 0
    var headLength = 0
    var framing: BodyFraming = .none
    var wantsClose = false

    init() {}

    init(_ head: ResponseHead) {
        status = head.status
        headLength = head.headLength
        framing = head.framing
        wantsClose = head.wantsClose
    }

    var isInformational: Bool { status >= 100 && status < 200 }
}

/// GET, HEAD and OPTIONS: safe methods (RFC 9110 §9.2.1) that a proxy may repeat.
func isSafeMethod(_ source: UnsafeRawBufferPointer, _ method: Range<Int>) -> Bool {
    isMethod(source, method, "GET") || isMethod(source, method, "HEAD") || isMethod(source, method, "OPTIONS")
}

/// The method at `method` is `literal` (methods are case-sensitive).
func isMethod(_ source: UnsafeRawBufferPointer, _ method: Range<Int>, _ literal: StaticString) -> Bool {
    guard method.count == literal.utf8CodeUnitCount else { return false }
    for i in 0..<method.count where source[method.lowerBound + i] != literal.utf8Start[i] { return false }
    return true
}

/// Fuzz target: the request head parser, fed growing prefixes of the input as a session does
/// (every call re-parses all bytes received so far), plus re-serialisation round trips.
///
/// Invariants:
/// - once a prefix is rejected, every longer prefix is rejected too (with the same status);
/// - the first prefix that completes ends exactly at `headLength` (the parser answers as soon as
///   the final CRLF arrives), and longer inputs give the same head (bytes after the head are
///   never looked at);
/// - offsets in bounds: method, target, every field name and value lie inside the head, in order;
/// - method is a token, names are tokens, values have no CR/LF/NUL and no surrounding OWS;
/// - an accepted head written back canonically (`M T V CRLF`, `name: value CRLF`…) parses to
///   the same head; the head the proxy forwards upstream (`writeUpstreamRequestHead`) fits its
///   upper bound and parses with the same method, target and framing.
/// Compiled in one module with Sources/HTTP1 (see scripts/fuzz), so internal API is visible.

struct HeadSnapshot: Equatable {
    var method: [UInt8]
    var target: [UInt8]
    var version: HTTPVersion
    var fields: [[UInt8]]
    var kinds: [FieldKind]
    var framing: BodyFraming
    var wantsClose: Bool
    var expectContinue: Bool
    var upgrade: Bool
    var isHEAD: Bool
    var isCONNECT: Bool

    init(_ head: RequestHead, _ bytes: UnsafeRawBufferPointer) {
        method = Array(bytes[head.method])
        target = Array(bytes[head.target])
        version = head.version
        fields = head.fields.map { Array(bytes[$0.name]) + [0x3A] + Array(bytes[$0.value]) }
        kinds = head.fields.map(\.kind)
        framing = head.framing
        wantsClose = head.wantsClose
        expectContinue = head.expectContinue
        upgrade = head.upgrade
        isHEAD = head.isHEAD
        isCONNECT = head.isCONNECT
    }
}

enum Outcome: Equatable {
    case incomplete
    case complete(length: Int, HeadSnapshot)
    case rejected(Int)
}

func parseOutcome(_ bytes: UnsafeRawBufferPointer, _ limits: ParseLimits, _ head: inout RequestHead) -> Outcome {
    do {
        switch try parseRequestHead(bytes, limits: limits, into: &head) {
        case .incomplete: return .incomplete
        case .complete: return .complete(length: head.headLength, HeadSnapshot(head, bytes))
        }
    } catch {
        return .rejected(error.status)
    }
}

func checkHeadShape(_ head: RequestHead, _ bytes: UnsafeRawBufferPointer) {
    let n = head.headLength
    check(n >= 16 && n <= bytes.count, "headLength \(n) out of bounds (\(bytes.count))")
    check(bytes[n - 4] == 0x0D && bytes[n - 3] == 0x0A && bytes[n - 2] == 0x0D && bytes[n - 1] == 0x0A,
          "head does not end with CRLF CRLF")
    check(!head.method.isEmpty && head.method.upperBound < head.target.lowerBound, "method range")
    check(!head.target.isEmpty && head.target.upperBound < n, "target range")
    check(head.method.lowerBound == 0 || head.method.lowerBound == 2, "method start")
    for i in head.method { check(ASCII.isTchar(bytes[i]), "method byte not a tchar") }
    for i in head.target { check(ASCII.isTargetByte(bytes[i]), "target byte") }
    var previous = head.target.upperBound
    for field in head.fields {
        check(field.name.lowerBound > previous && field.name.upperBound < field.value.lowerBound + 1
              && field.value.upperBound <= n - 4, "field ranges out of order / bounds")
        check(!field.name.isEmpty, "empty field name")
        for i in field.name { check(ASCII.isTchar(bytes[i]), "name byte not a tchar") }
        check(bytes[field.name.upperBound] == 0x3A, "name not followed by colon")
        for i in field.value {
            let b = bytes[i]
            check(b == 0x09 || (b >= 0x20 && b != 0x7F), "control byte in value")
        }
        if let first = field.value.first {
            check(!ASCII.isWhitespace(bytes[first]) && !ASCII.isWhitespace(bytes[field.value.upperBound - 1]),
                  "value not trimmed")
        }
        previous = field.value.upperBound
    }
    check(head.fields.count <= 100, "too many fields accepted")
    switch head.framing {
    case .contentLength(let l): check(l > 0, "contentLength(0) instead of none")
    case .chunked: check(head.version == .http11, "chunked in HTTP/1.0")
    case .untilClose: fuzzFail("requests are never close-delimited")
    case .none: break
    }
    if head.version == .http10 { check(!head.upgrade && !head.expectContinue, "1.0 upgrade/expect") }
}

/// `M SP T SP V CRLF (name ": " value CRLF)* CRLF`, from the parsed ranges.
func canonical(_ head: RequestHead, _ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    var out: [UInt8] = []
    out += bytes[head.method]; out.append(0x20)
    out += bytes[head.target]; out.append(0x20)
    out += Array((head.version == .http11 ? "HTTP/1.1" : "HTTP/1.0").utf8)
    out += [0x0D, 0x0A]
    for field in head.fields {
        out += bytes[field.name]; out += [0x3A, 0x20]; out += bytes[field.value]; out += [0x0D, 0x0A]
    }
    out += [0x0D, 0x0A]
    return out
}

let fuzzLimits = ParseLimits(maxHeaderBytes: 4096, maxTargetBytes: 1024, maxFields: 32)
let roomyLimits = ParseLimits(maxHeaderBytes: 1 << 20, maxTargetBytes: 1 << 20, maxFields: 1000)
nonisolated(unsafe) var sessionHead = RequestHead()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = UnsafeRawBufferPointer(start: data, count: size)
    // Growing prefixes, as a session sees them. Steps of one byte for short inputs; for long ones
    // the step grows so an input costs O(n) prefixes of O(n) work at most ~64 times.
    let step = max(1, size / 64)
    var previous = Outcome.incomplete
    var firstComplete: Int? = nil
    var n = 0
    while true {
        let prefix = UnsafeRawBufferPointer(rebasing: all[0..<n])
        let outcome = parseOutcome(prefix, fuzzLimits, &sessionHead)
        switch (previous, outcome) {
        case (.rejected(let a), .rejected(let b)):
            check(a == b || b == 431, "rejection status changed from \(a) to \(b) at \(n)")
        case (.rejected, _):
            fuzzFail("prefix rejected, longer prefix (\(n)) not: \(outcome)")
        case (.complete(let l, let s), _):
            check(outcome == .complete(length: l, s), "completed head changed with more bytes at \(n)")
        case (.incomplete, .complete(let l, _)):
            if step == 1 { check(l == n, "head completed at \(n) but is \(l) long: not answered as soon as complete") }
            check(l <= n, "headLength beyond the input")
            firstComplete = l
        case (.incomplete, _):
            break
        }
        if case .complete = outcome { checkHeadShape(sessionHead, prefix) }
        previous = outcome
        if n == size { break }
        n = min(size, n + step)
    }
    _ = firstComplete

    guard case .complete(let length, let snapshot) = previous else { return 0 }
    let head = sessionHead
    let headBytes = UnsafeRawBufferPointer(rebasing: all[0..<length])

    // Round trip 1: canonical serialisation parses to the same head.
    let again = canonical(head, headBytes)
    again.withUnsafeBytes { raw in
        var h = RequestHead()
        let o = parseOutcome(raw, roomyLimits, &h)
        guard case .complete(let l2, let s2) = o else { fuzzFail("canonical form not accepted: \(o)") }
        check(l2 == raw.count, "canonical head length")
        check(s2 == snapshot, "canonical form parses to a different head")
    }

    // Round trip 2: the upstream head the proxy writes.
    let client: StaticString = "192.0.2.1"
    let fallback: StaticString = "fallback.example"
    client.withUTF8Buffer { clientBuf in
        fallback.withUTF8Buffer { fallbackBuf in
            let bound = upstreamRequestHeadUpperBound(head, clientAddressCount: clientBuf.count) + fallbackBuf.count
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: bound, alignment: 1)
            defer { out.deallocate() }
            guard let written = writeUpstreamRequestHead(
                head, from: headBytes, clientAddress: UnsafeRawBufferPointer(clientBuf),
                forwardedProto: "http", keepUpgrade: head.upgrade,
                fallbackHost: UnsafeRawBufferPointer(fallbackBuf), into: out)
            else { fuzzFail("upstream head exceeded its upper bound \(bound)") }
            let up = UnsafeRawBufferPointer(rebasing: out[0..<written])
            var h = RequestHead()
            let o = parseOutcome(up, roomyLimits, &h)
            guard case .complete(let l2, let s2) = o else {
                fuzzFail("upstream head not accepted: \(o) \(String(decoding: up, as: UTF8.self).debugDescription)")
            }
            check(l2 == written, "upstream head length")
            check(s2.method == snapshot.method && s2.target == snapshot.target, "upstream method/target")
            check(s2.framing == snapshot.framing, "upstream framing \(s2.framing) != \(snapshot.framing)")
            check(s2.version == .http11, "upstream version")
            check(s2.upgrade == snapshot.upgrade, "upstream upgrade")
            check(!s2.wantsClose, "upstream head asks to close")
        }
    }
    return 0
}

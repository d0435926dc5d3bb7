/// Fuzz target: the response head parser. Input: one flag byte (bit 0: the request was HEAD;
/// bit 1: the client is HTTP/1.0), then the bytes the upstream sent, fed in growing prefixes.
///
/// Invariants: a rejected prefix stays rejected; the first complete prefix ends at `headLength`
/// and more bytes do not change the head; status 100–599 and the status line, reason and fields
/// lie inside the head; framing follows RFC 9112 §6.3 (1xx/204/304/HEAD → none, …); the head the
/// proxy writes to the client fits its upper bound and parses back with the same status, reason,
/// framing (and `chunked` dropped when de-chunking).

struct ResponseSnapshot: Equatable {
    var status: Int
    var reason: [UInt8]
    var version: HTTPVersion
    var fields: [[UInt8]]
    var kinds: [FieldKind]
    var framing: BodyFraming
    var wantsClose: Bool

    init(_ head: ResponseHead, _ bytes: UnsafeRawBufferPointer) {
        status = head.status
        reason = Array(bytes[head.reason])
        version = head.version
        fields = head.fields.map { Array(bytes[$0.name]) + [0x3A] + Array(bytes[$0.value]) }
        kinds = head.fields.map(\.kind)
        framing = head.framing
        wantsClose = head.wantsClose
    }
}

enum ResponseOutcome: Equatable {
    case incomplete
    case complete(Int, ResponseSnapshot)
    case rejected(Int)
}

func parseResponse(_ bytes: UnsafeRawBufferPointer, head requestWasHEAD: Bool, _ limits: ParseLimits,
                   _ head: inout ResponseHead) -> ResponseOutcome {
    do {
        switch try parseResponseHead(bytes, requestWasHEAD: requestWasHEAD, limits: limits, into: &head) {
        case .incomplete: return .incomplete
        case .complete: return .complete(head.headLength, ResponseSnapshot(head, bytes))
        }
    } catch {
        return .rejected(error.status)
    }
}

let responseLimits = ParseLimits(maxHeaderBytes: 4096, maxTargetBytes: 1024, maxFields: 32)
let roomyResponseLimits = ParseLimits(maxHeaderBytes: 1 << 20, maxTargetBytes: 1 << 20, maxFields: 1000)
nonisolated(unsafe) var upstreamHead = ResponseHead()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponseHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let requestWasHEAD = data[0] & 1 != 0
    let clientIsHTTP10 = data[0] & 2 != 0
    let all = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let step = max(1, all.count / 64)
    var previous = ResponseOutcome.incomplete
    var n = 0
    while true {
        let prefix = UnsafeRawBufferPointer(rebasing: all[0..<n])
        let outcome = parseResponse(prefix, head: requestWasHEAD, responseLimits, &upstreamHead)
        switch (previous, outcome) {
        case (.rejected(let a), .rejected(let b)):
            check(a == b || b == 431, "rejection status changed from \(a) to \(b)")
        case (.rejected, _):
            fuzzFail("prefix rejected, longer prefix (\(n)) not: \(outcome)")
        case (.complete(let l, let s), _):
            check(outcome == .complete(l, s), "completed head changed with more bytes")
        case (.incomplete, .complete(let l, _)):
            if step == 1 { check(l == n, "head completed at \(n) but is \(l) long") }
        case (.incomplete, _):
            break
        }
        previous = outcome
        if n == all.count { break }
        n = min(all.count, n + step)
    }
    guard case .complete(let length, let snapshot) = previous else { return 0 }
    let head = upstreamHead
    let bytes = UnsafeRawBufferPointer(rebasing: all[0..<length])

    // Shape.
    check((100...599).contains(head.status), "status \(head.status)")
    check(head.statusLine.lowerBound == 0 && head.statusLine.upperBound + 2 <= length, "status line range")
    check(head.reason.lowerBound >= 12 && head.reason.upperBound == head.statusLine.upperBound, "reason range")
    check(bytes[length - 4] == 0x0D && bytes[length - 3] == 0x0A && bytes[length - 2] == 0x0D && bytes[length - 1] == 0x0A,
          "head does not end with CRLF CRLF")
    for field in head.fields {
        check(field.name.lowerBound > head.statusLine.upperBound && field.value.upperBound <= length - 4, "field range")
        check(!field.name.isEmpty && bytes[field.name.upperBound] == 0x3A, "field name")
    }
    let noBody = head.isInformational || head.status == 204 || head.status == 304 || requestWasHEAD
    if noBody { check(head.framing == .none, "bodyless response with framing \(head.framing)") }
    if head.framing == .untilClose { check(head.wantsClose, "close-delimited body without wantsClose") }
    if case .contentLength(let l) = head.framing { check(l > 0, "contentLength(0)") }

    // Round trip through the serializer the proxy uses towards the client.
    for dechunk in [false, true] {
        let bound = clientResponseHeadUpperBound(head)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: bound, alignment: 1)
        defer { out.deallocate() }
        guard let written = writeClientResponseHead(
            head, from: bytes, closeClient: head.wantsClose, clientIsHTTP10: clientIsHTTP10,
            dechunk: dechunk, keepUpgrade: head.status == 101, into: out)
        else { fuzzFail("client head exceeded its upper bound \(bound)") }
        let again = UnsafeRawBufferPointer(rebasing: out[0..<written])
        var h = ResponseHead()
        let o = parseResponse(again, head: requestWasHEAD, roomyResponseLimits, &h)
        guard case .complete(let l2, let s2) = o else {
            fuzzFail("client head not accepted: \(o) \(String(decoding: again, as: UTF8.self).debugDescription)")
        }
        check(l2 == written, "client head length")
        check(s2.status == snapshot.status && s2.reason == snapshot.reason, "status/reason changed")
        check(s2.version == .http11, "client head version")
        if !dechunk || snapshot.framing != .chunked {
            check(s2.framing == snapshot.framing, "framing \(s2.framing) != \(snapshot.framing) (dechunk \(dechunk))")
        } else {
            // Transfer-Encoding dropped: the body is close-delimited for the client.
            check(s2.framing == .untilClose, "de-chunked framing \(s2.framing)")
        }
        check(s2.wantsClose == (snapshot.wantsClose || s2.framing == .untilClose), "wantsClose")
    }
    return 0
}

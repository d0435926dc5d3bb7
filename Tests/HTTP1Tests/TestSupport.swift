import Testing
@testable import HTTP1

/// Test-only helpers: messages are written as Swift strings and parsed as their UTF-8 bytes.

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func string(_ bytes: [UInt8], _ range: Range<Int>) -> String {
    String(decoding: bytes[range], as: UTF8.self)
}

func string(_ bytes: [UInt8]) -> String {
    String(decoding: bytes, as: UTF8.self)
}

/// A request head parsed from `text`, the bytes it was parsed from and the parser's verdict.
struct ParsedRequest {
    let bytes: [UInt8]
    let result: Result<HeadParseResult, HTTPParseError>
    let head: RequestHead

    func text(_ range: Range<Int>) -> String { string(bytes, range) }
    var fieldNames: [String] { head.fields.map { text($0.name) } }
    var fieldValues: [String] { head.fields.map { text($0.value) } }
    var kinds: [FieldKind] { head.fields.map(\.kind) }
}

func parseRequest(_ text: String, limits: ParseLimits = ParseLimits()) -> ParsedRequest {
    parseRequest(bytes(text), limits: limits)
}

func parseRequest(_ input: [UInt8], limits: ParseLimits = ParseLimits()) -> ParsedRequest {
    var head = RequestHead()
    let result = input.withUnsafeBytes { raw in
        Result { () throws(HTTPParseError) -> HeadParseResult in
            try parseRequestHead(raw, limits: limits, into: &head)
        }
    }
    return ParsedRequest(bytes: input, result: result, head: head)
}

struct ParsedResponse {
    let bytes: [UInt8]
    let result: Result<HeadParseResult, HTTPParseError>
    let head: ResponseHead

    func text(_ range: Range<Int>) -> String { string(bytes, range) }
    var kinds: [FieldKind] { head.fields.map(\.kind) }
}

func parseResponse(_ text: String, requestWasHEAD: Bool = false, limits: ParseLimits = ParseLimits()) -> ParsedResponse {
    let input = bytes(text)
    var head = ResponseHead()
    let result = input.withUnsafeBytes { raw in
        Result { () throws(HTTPParseError) -> HeadParseResult in
            try parseResponseHead(raw, requestWasHEAD: requestWasHEAD, limits: limits, into: &head)
        }
    }
    return ParsedResponse(bytes: input, result: result, head: head)
}

/// Asserts that `result` failed with exactly `kind`.
func expectFailure(
    _ result: Result<HeadParseResult, HTTPParseError>, _ kind: HTTPParseError.Kind,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    switch result {
    case .success(let value):
        Issue.record("expected \(kind), got \(value)", sourceLocation: sourceLocation)
    case .failure(let error):
        #expect(error.kind == kind, "reason: \(error.reason)", sourceLocation: sourceLocation)
    }
}

/// Asserts that `result` is `.complete`.
func expectComplete(
    _ result: Result<HeadParseResult, HTTPParseError>, sourceLocation: SourceLocation = #_sourceLocation
) {
    switch result {
    case .success(let value):
        #expect(value == .complete, sourceLocation: sourceLocation)
    case .failure(let error):
        Issue.record("expected complete, got \(error.kind): \(error.reason)", sourceLocation: sourceLocation)
    }
}

/// Runs a chunked decoder over `input` fed in pieces of at most `step` bytes (all at once when
/// nil), returning the de-chunked payload, the bytes consumed and whether the body finished.
func decodeChunked(
    _ input: [UInt8], step: Int? = nil, decoder: ChunkedDecoder = ChunkedDecoder()
) -> Result<(payload: [UInt8], consumed: Int, finished: Bool), HTTPParseError> {
    var decoder = decoder
    var payload: [UInt8] = []
    var offset = 0
    let piece = step ?? max(input.count, 1)
    return input.withUnsafeBytes { raw in
        Result { () throws(HTTPParseError) -> (payload: [UInt8], consumed: Int, finished: Bool) in
            while offset < raw.count {
                let start = offset
                let end = min(offset + piece, raw.count)
                let (consumed, finished) = try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[start..<end])) { span in
                    #expect(!span.isEmpty)
                    payload.append(contentsOf: span)
                }
                offset += consumed
                if finished { return (payload, offset, true) }
                // An unfinished body consumes everything it is given.
                #expect(consumed == end - start)
            }
            return (payload, offset, false)
        }
    }
}

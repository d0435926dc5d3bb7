import CNGHTTP2

/// One request stream's state inside the codec: what the caller was told, request body bytes
/// not yet reported forwarded, and the response body waiting for the client's window.
/// Recycled by the codec (a closed stream's object serves a later one).
final class H2Stream {
    var id: H2StreamID = 0
    /// The request was handed to the caller (`.request`), so it gets `.closed` at the end.
    var delivered = false
    /// The header block outgrew `maxHeaderListSize`: answered 431 by the codec itself.
    var oversized = false
    /// Decoded header block size so far (RFC 9113 §6.5.2 accounting).
    var headerListSize = 0
    /// Request body bytes delivered but not yet reported by `consumed`: given back to the
    /// connection window when the stream closes, so a stream ending early leaks no window.
    var unconsumed = 0

    /// A response HEADERS was submitted.
    var responded = false
    /// The response has a body (a data provider is attached).
    var hasBody = false
    /// Response body bytes waiting for nghttp2 to frame them: `body[bodyStart...]`.
    var body: [UInt8] = []
    var bodyStart = 0
    /// `finishBody` was called: after `body` drains, the stream ends (with `trailers`, if any).
    var finished = false
    var trailers = H2FieldList()
    /// nghttp2 was told "no data for now" (NGHTTP2_ERR_DEFERRED) and waits for `resume_data`.
    var deferred = false

    var buffered: Int { body.count - bodyStart }

    func reset(id: H2StreamID) {
        self.id = id
        delivered = false
        oversized = false
        headerListSize = 0
        unconsumed = 0
        responded = false
        hasBody = false
        body.removeAll(keepingCapacity: true)
        bodyStart = 0
        finished = false
        trailers.removeAll()
        deferred = false
    }

    /// Moves up to `length` buffered body bytes to `destination`; returns how many.
    func readBody(into destination: UnsafeMutablePointer<UInt8>, length: Int) -> Int {
        let n = min(length, buffered)
        if n > 0 {
            body.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { destination.update(from: base + bodyStart, count: n) }
            }
            bodyStart += n
        }
        if bodyStart == body.count {
            body.removeAll(keepingCapacity: true)
            bodyStart = 0
        } else if bodyStart > 65_536 && bodyStart * 2 > body.count {
            body.removeSubrange(0..<bodyStart)
            bodyStart = 0
        }
        return n
    }
}

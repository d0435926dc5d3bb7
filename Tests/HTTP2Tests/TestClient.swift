import CNGHTTP2
@testable import HTTP2

/// A client nghttp2 session driven over memory, the peer of the codec under test: it submits
/// requests (bodies from a buffer the test fills), collects responses, and records resets,
/// closes and GOAWAYs by stream.
final class TestClient {
    final class Body {
        var bytes: [UInt8]
        var offset = 0
        var finished: Bool
        /// Largest DATA payload per read (several frames for one body).
        var chunk: Int
        var deferred = false
        init(_ bytes: [UInt8], finished: Bool, chunk: Int) { self.bytes = bytes; self.finished = finished; self.chunk = chunk }
    }
    struct Response {
        var headers: [(String, String)] = []
        var trailers: [(String, String)] = []
        var body: [UInt8] = []
        var closedWith: UInt32?
        var status: String? { headers.first { $0.0 == ":status" }?.1 }
    }

    let session: OpaquePointer
    var responses: [Int32: Response] = [:]
    var bodies: [Int32: Body] = [:]
    var goAways: [(lastStreamID: Int32, error: UInt32)] = []
    var resets: [Int32: UInt32] = [:]
    /// Padding added to each DATA / HEADERS frame the client sends.
    var padding = 0

    init(settings: [nghttp2_settings_entry] = []) {
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nlen, value, vlen, _, user in
            let client = Unmanaged<TestClient>.fromOpaque(user!).takeUnretainedValue()
            let id = frame!.pointee.hd.stream_id
            let pair = (String(decoding: UnsafeBufferPointer(start: name, count: nlen), as: UTF8.self),
                        String(decoding: UnsafeBufferPointer(start: value, count: vlen), as: UTF8.self))
            if frame!.pointee.headers.cat == NGHTTP2_HCAT_HEADERS && client.responses[id]?.status != nil {
                client.responses[id, default: Response()].trailers.append(pair)
            } else {
                client.responses[id, default: Response()].headers.append(pair)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, id, data, len, user in
            let client = Unmanaged<TestClient>.fromOpaque(user!).takeUnretainedValue()
            client.responses[id, default: Response()].body.append(contentsOf: UnsafeBufferPointer(start: data, count: len))
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, id, error, user in
            let client = Unmanaged<TestClient>.fromOpaque(user!).takeUnretainedValue()
            client.responses[id, default: Response()].closedWith = error
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            let client = Unmanaged<TestClient>.fromOpaque(user!).takeUnretainedValue()
            let f = frame!.pointee
            if f.hd.type == UInt8(NGHTTP2_GOAWAY.rawValue) {
                client.goAways.append((f.goaway.last_stream_id, f.goaway.error_code))
            } else if f.hd.type == UInt8(NGHTTP2_RST_STREAM.rawValue) {
                client.resets[f.hd.stream_id] = f.rst_stream.error_code
            }
            return 0
        }
        nghttp2_session_callbacks_set_select_padding_callback(callbacks) { _, frame, maxPayload, user in
            let client = Unmanaged<TestClient>.fromOpaque(user!).takeUnretainedValue()
            return min(frame!.pointee.hd.length + client.padding, maxPayload)
        }
        var created: OpaquePointer?
        session = { () -> OpaquePointer in
            nghttp2_session_client_new(&created, callbacks, nil)
            return created!
        }()
        nghttp2_session_callbacks_del(callbacks)
        nghttp2_session_set_user_data(session, Unmanaged.passUnretained(self).toOpaque())
        var entries = settings
        nghttp2_submit_settings(session, 0, &entries, entries.count)
    }

    deinit { nghttp2_session_del(session) }

    /// Submits a request; `body` nil sends HEADERS with END_STREAM. Returns the stream id.
    @discardableResult
    func request(method: String = "GET", path: String = "/", authority: String = "example.test",
                 headers: [(String, String)] = [], body: [UInt8]? = nil, finished: Bool = true,
                 chunk: Int = 16_384) -> Int32 {
        var fields = [(":method", method), (":scheme", "https"), (":authority", authority), (":path", path)] + headers
        return withNV(&fields) { nva, count in
            guard let body else { return nghttp2_submit_request(session, nil, nva, count, nil, nil) }
            let source = Body(body, finished: finished, chunk: chunk)
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: Unmanaged.passUnretained(source).toOpaque()),
                                                 read_callback: TestClient.readBody)
            let id = nghttp2_submit_request(session, nil, nva, count, &provider, nil)
            bodies[id] = source
            return id
        }
    }

    /// Adds request body bytes (or finishes it) on a stream whose provider is waiting.
    func send(stream: Int32, _ bytes: [UInt8], finish: Bool = false) {
        guard let body = bodies[stream] else { return }
        body.bytes += bytes
        body.finished = finish
        if body.deferred { body.deferred = false; nghttp2_session_resume_data(session, stream) }
    }

    func reset(stream: Int32, error: UInt32 = H2ErrorCode.cancel) {
        nghttp2_submit_rst_stream(session, 0, stream, error)
    }

    /// Everything the client has to send now.
    func output() -> [UInt8] {
        var out: [UInt8] = []
        while true {
            var chunk: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &chunk)
            guard n > 0, let chunk else { break }
            out += UnsafeBufferPointer(start: chunk, count: n)
        }
        return out
    }

    func feed(_ bytes: [UInt8]) {
        let n = bytes.withUnsafeBufferPointer { nghttp2_session_mem_recv(session, $0.baseAddress, $0.count) }
        precondition(n == bytes.count, "client mem_recv: \(n)")
    }

    /// This stream's send window as the client sees it (bytes it may still send).
    func sendWindow(stream: Int32) -> Int32 { nghttp2_session_get_stream_remote_window_size(session, stream) }

    static let readBody: nghttp2_data_source_read_callback = { _, _, buffer, length, flags, source, _ in
        let body = Unmanaged<Body>.fromOpaque(source!.pointee.ptr).takeUnretainedValue()
        let n = min(length, body.chunk, body.bytes.count - body.offset)
        if n > 0 {
            body.bytes.withUnsafeBufferPointer { buffer!.update(from: $0.baseAddress! + body.offset, count: n) }
            body.offset += n
        }
        if body.offset == body.bytes.count {
            if body.finished { flags!.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
            else if n == 0 { body.deferred = true; return Int(NGHTTP2_ERR_DEFERRED.rawValue) }
        }
        return n
    }
}

/// Runs `body` with an nghttp2_nv array over `fields`.
func withNV<R>(_ fields: inout [(String, String)], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
    var flat: [UInt8] = []
    var spans: [(Int, Int, Int, Int)] = []
    for (name, value) in fields {
        let n = flat.count; flat += name.utf8
        let v = flat.count; flat += value.utf8
        spans.append((n, name.utf8.count, v, value.utf8.count))
    }
    flat.append(0)  // never empty, so the base address exists
    return flat.withUnsafeMutableBufferPointer { raw in
        let base = raw.baseAddress!
        let nva = spans.map { nghttp2_nv(name: base + $0.0, value: base + $0.2, namelen: $0.1, valuelen: $0.3, flags: 0) }
        return nva.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
    }
}

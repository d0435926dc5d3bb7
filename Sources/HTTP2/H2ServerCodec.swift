import CNGHTTP2

/// The server side of one HTTP/2 connection, over libnghttp2, with no I/O: the caller hands in
/// the bytes it read (`receive`), takes the bytes to write (`produce`), and drains `events`.
/// Requests come out as `H2Event`s whose byte ranges point into the codec's `inbound` scratch;
/// responses go in with `respond`, `appendBody`, `finishBody`. One per client connection,
/// confined to the thread (worker) that owns the connection.
///
/// Flow control follows the caller: nghttp2's automatic WINDOW_UPDATE is off, and a stream's
/// (and the connection's) receive window reopens only when the caller reports request body
/// bytes forwarded with `consumed(stream:bytes:)`. A slow upstream thus slows only its own
/// stream's client. Response bodies wait in a per-stream buffer until the client's window lets
/// nghttp2 frame them; `bufferedBody(stream:)` tells the caller how much is waiting.
///
/// Allocation: `events`, `inbound` and each stream's body buffer keep their capacity; stream
/// objects are recycled. In a steady state a request costs no allocation in the codec itself
/// beyond nghttp2's own per-stream structures.
public final class H2ServerCodec {
    let session: OpaquePointer
    public let settings: H2Settings

    /// What happened since the last `clearEvents()`, oldest first.
    public internal(set) var events: [H2Event] = []
    /// Header fields and request body bytes the events point into, until `clearEvents()`.
    public internal(set) var inbound = H2FieldList()

    var streams: [H2StreamID: H2Stream] = [:]
    var spareStreams: [H2Stream] = []
    /// The header block being received (HEADERS then CONTINUATION: never interleaved).
    var block = HeaderBlock()
    /// Scratch for the fields of `respond` and trailers, and the nghttp2_nv array over it.
    var outbound = H2FieldList()
    var nameValues: [nghttp2_nv] = []
    /// The part of nghttp2's last output chunk not yet copied out; valid until the next
    /// `nghttp2_session_mem_send`.
    var leftover = UnsafeRawBufferPointer(start: nil, count: 0)
    /// A `.connectionError` was reported (once per connection).
    var reportedConnectionError = false
    /// nghttp2's last error message (from its error callback), for logs.
    public internal(set) var lastErrorMessage: String?

    /// A server session sending `settings` (its SETTINGS frame and a connection WINDOW_UPDATE
    /// are the first output).
    public init(settings: H2Settings = H2Settings()) throws(H2Error) {
        self.settings = settings
        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else { throw H2Error(code: NGHTTP2_ERR_NOMEM.rawValue) }
        defer { nghttp2_session_callbacks_del(callbacks) }
        H2Callbacks.install(on: callbacks)

        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0, let option else { throw H2Error(code: NGHTTP2_ERR_NOMEM.rawValue) }
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_max_settings(option, settings.maxSettingsEntries)
        nghttp2_option_set_max_outbound_ack(option, settings.maxOutboundAcks)
        nghttp2_option_set_stream_reset_rate_limit(option, settings.resetBurst, settings.resetRate)
        nghttp2_option_set_max_continuations(option, settings.maxContinuations)

        // The session's user data is this codec, unretained: the codec owns the session and
        // deletes it in deinit, so no callback outlives it.
        var created: OpaquePointer?
        let status = nghttp2_session_server_new2(&created, callbacks, nil, option)
        guard status == 0, let created else { throw H2Error(code: status) }
        session = created
        nghttp2_session_set_user_data(session, Unmanaged.passUnretained(self).toOpaque())

        var entries = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                                   value: settings.maxConcurrentStreams),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                                   value: settings.initialWindowSize),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_FRAME_SIZE.rawValue),
                                   value: settings.maxFrameSize),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                                   value: settings.maxHeaderListSize),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_HEADER_TABLE_SIZE.rawValue),
                                   value: settings.headerTableSize),
            // No RFC 7540 priority tree: nghttp2 then keeps no closed streams around.
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES.rawValue), value: 1),
        ]
        var rv = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
        if rv == 0 && settings.connectionWindowSize > 65_535 {
            rv = nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0,
                                                       Int32(clamping: settings.connectionWindowSize))
        }
        guard rv == 0 else {
            nghttp2_session_del(session)
            throw H2Error(code: rv)
        }
    }

    deinit {
        nghttp2_session_del(session)
    }

    // MARK: Bytes in, bytes out

    /// Feeds bytes read from the client; returns how many were taken (all of them, unless it
    /// throws). Events land in `events`. A protocol error in the input is not thrown: nghttp2
    /// queues a GOAWAY, reports `.connectionError` when it goes out, and ignores the rest.
    /// Thrown: a bad preface, a flood, a callback failure — the caller flushes what `produce`
    /// still gives (often a GOAWAY) and closes.
    public func receive(_ bytes: UnsafeRawBufferPointer) throws(H2Error) -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        let n = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if n < 0 {
            let error = H2Error(code: Int32(truncatingIfNeeded: n))
            reportConnectionError(H2ErrorCode.protocolError)
            throw error
        }
        return n
    }

    /// Copies frames ready to go out into `buffer`, as many bytes as fit, and returns how
    /// many. Body bytes move from the streams' buffers as the client's windows allow. Call
    /// until it returns less than `buffer.count` (or `hasOutput` is false).
    public func produce(into buffer: UnsafeMutableRawBufferPointer) throws(H2Error) -> Int {
        var written = 0
        while written < buffer.count {
            if leftover.isEmpty {
                var chunk: UnsafePointer<UInt8>?
                let n = nghttp2_session_mem_send(session, &chunk)
                if n < 0 { throw H2Error(code: Int32(truncatingIfNeeded: n)) }
                guard n > 0, let chunk else { break }
                leftover = UnsafeRawBufferPointer(start: chunk, count: n)
            }
            let count = min(leftover.count, buffer.count - written)
            UnsafeMutableRawBufferPointer(rebasing: buffer[written..<written + count])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: leftover[0..<count]))
            leftover = UnsafeRawBufferPointer(rebasing: leftover[count...])
            written += count
        }
        return written
    }

    /// There are bytes for `produce` (a frame queued, or part of one not yet taken).
    public var hasOutput: Bool { !leftover.isEmpty || nghttp2_session_want_write(session) != 0 }
    /// nghttp2 still expects input (false after GOAWAY both ways with no stream left, or after
    /// a connection error).
    public var wantsRead: Bool { nghttp2_session_want_read(session) != 0 }
    /// Output is pending; when neither `wantsRead` nor `wantsWrite`, the connection is done.
    public var wantsWrite: Bool { hasOutput }

    /// Forgets the events and the inbound bytes they pointed to (storage kept).
    public func clearEvents() {
        events.removeAll(keepingCapacity: true)
        inbound.removeAll()
    }

    // MARK: Streams

    /// Request body bytes of `stream` were forwarded: the client may send that many more (a
    /// WINDOW_UPDATE goes out for the stream and the connection once enough accumulate). A
    /// stream already closed is ignored (the codec gave its bytes back when it closed).
    public func consumed(stream: H2StreamID, bytes: Int) {
        guard bytes > 0, let state = streams[stream] else { return }
        let n = min(bytes, state.unconsumed)
        state.unconsumed -= n
        _ = nghttp2_session_consume(session, stream, n)
    }

    /// Sends the response head of `stream`. With `endStream`, the response has no body;
    /// otherwise body bytes follow through `appendBody` and end with `finishBody`. Hop-by-hop
    /// and h2-forbidden fields are dropped, names lowercased.
    public func respond(stream: H2StreamID, status: Int, headers: H2FieldList, endStream: Bool) throws(H2Error) {
        guard let state = streams[stream], state.delivered else { throw .streamClosed }
        guard !state.responded else { throw .invalidState }
        guard (100...999).contains(status) else { throw .invalidArgument }
        prepareHead(status: status, headers: headers)
        let rv: Int32
        if endStream {
            rv = withNameValues(outbound) { nva, count in nghttp2_submit_response(session, stream, nva, count, nil) }
        } else {
            var provider = nghttp2_data_provider(
                source: nghttp2_data_source(ptr: Unmanaged.passUnretained(state).toOpaque()),
                read_callback: H2Callbacks.readBody)
            rv = withNameValues(outbound) { nva, count in nghttp2_submit_response(session, stream, nva, count, &provider) }
        }
        guard rv == 0 else { throw H2Error(code: rv) }
        state.responded = true
        state.hasBody = !endStream
        state.finished = endStream
    }

    /// Sends an interim (1xx) response head for `stream`, before its `respond`: a 100 Continue
    /// the client's `expect` waits for, a 103 Early Hints. 101 has no place in HTTP/2 (RFC 9113
    /// §8.6) and is refused, as is anything after the final head.
    public func informational(stream: H2StreamID, status: Int, headers: H2FieldList) throws(H2Error) {
        guard let state = streams[stream], state.delivered else { throw .streamClosed }
        guard !state.responded else { throw .invalidState }
        guard (100...199).contains(status), status != 101 else { throw .invalidArgument }
        prepareHead(status: status, headers: headers)
        let rv = withNameValues(outbound) { nva, count in
            nghttp2_submit_headers(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, nil, nva, count, nil)
        }
        guard rv >= 0 else { throw H2Error(code: rv) }
    }

    /// `:status` and the fields an HTTP/2 response head may carry, into `outbound`.
    private func prepareHead(status: Int, headers: H2FieldList) {
        outbound.removeAll()
        let digits: [UInt8] = [UInt8(48 + status / 100), UInt8(48 + status / 10 % 10), UInt8(48 + status % 10)]
        outbound.append(name: ":status".utf8, value: digits)
        ResponseFieldRules.copyAllowed(from: headers, into: &outbound)
    }

    /// Adds response body bytes for `stream` (after a `respond` without endStream); they go out
    /// as the client's flow-control windows allow.
    public func appendBody(stream: H2StreamID, bytes: UnsafeRawBufferPointer) throws(H2Error) {
        guard let state = streams[stream], state.responded else { throw .streamClosed }
        guard state.hasBody, !state.finished else { throw .invalidState }
        state.body.append(contentsOf: bytes)
        bufferedBodyTotal += bytes.count
        resumeIfDeferred(state)
    }

    /// Ends the response body of `stream`, with trailers when given (filtered like headers;
    /// an empty list sends none).
    public func finishBody(stream: H2StreamID, trailers: H2FieldList? = nil) throws(H2Error) {
        guard let state = streams[stream], state.responded else { throw .streamClosed }
        guard state.hasBody, !state.finished else { throw .invalidState }
        state.finished = true
        if let trailers { ResponseFieldRules.copyAllowed(from: trailers, into: &state.trailers) }
        resumeIfDeferred(state)
    }

    /// Response body bytes of `stream` not yet framed (waiting for the client's window, or for
    /// `produce`): the caller's back-pressure signal towards the upstream. 0 for a closed stream.
    public func bufferedBody(stream: H2StreamID) -> Int { streams[stream]?.buffered ?? 0 }

    /// Response body bytes of all streams not yet framed: whether the client is taking what it
    /// is sent, without a look at every stream.
    public internal(set) var bufferedBodyTotal = 0

    /// Resets `stream` (RST_STREAM with `error`, CANCEL by default).
    public func reset(stream: H2StreamID, error: UInt32 = H2ErrorCode.cancel) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, error)
    }

    // MARK: Shutting down

    /// First step of a graceful close: a GOAWAY with the largest stream id, telling the client
    /// to open no new streams while those in flight (and any it sends meanwhile) still count.
    /// After about a round trip, `goAway()` names the last stream served.
    public func beginGracefulShutdown() {
        _ = nghttp2_submit_shutdown_notice(session)
    }

    /// The final GOAWAY: streams up to `lastStreamID` (by default the last the codec
    /// processed) finish; later ones are ignored, and the client sees them refused.
    public func goAway(lastStreamID: H2StreamID? = nil, error: UInt32 = H2ErrorCode.noError) {
        let last = lastStreamID ?? nghttp2_session_get_last_proc_stream_id(session)
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, error, nil, 0)
    }

    /// The highest client stream id the codec has processed.
    public var lastProcessedStreamID: H2StreamID { nghttp2_session_get_last_proc_stream_id(session) }

    /// Streams open with a request the caller was given.
    public var openStreamCount: Int { streams.values.reduce(0) { $0 + ($1.delivered ? 1 : 0) } }

    // MARK: Internals

    func resumeIfDeferred(_ state: H2Stream) {
        guard state.deferred else { return }
        state.deferred = false
        _ = nghttp2_session_resume_data(session, state.id)
    }

    func reportConnectionError(_ error: UInt32) {
        guard !reportedConnectionError else { return }
        reportedConnectionError = true
        events.append(.connectionError(error: error))
    }

    func append(_ event: H2Event) { events.append(event) }

    /// Runs `body` with an nghttp2_nv array over `list`'s fields (valid only inside `body`;
    /// nghttp2 copies them when a frame is submitted).
    func withNameValues(_ list: H2FieldList, _ body: (UnsafePointer<nghttp2_nv>?, Int) -> Int32) -> Int32 {
        list.bytes.withUnsafeBufferPointer { raw in
            nameValues.removeAll(keepingCapacity: true)
            // nghttp2_nv's pointers are mutable in C; nghttp2 only reads (and copies) them.
            let base = raw.baseAddress.map { UnsafeMutablePointer(mutating: $0) }
            for field in list.fields {
                nameValues.append(nghttp2_nv(name: base.map { $0 + field.name.lowerBound },
                                             value: base.map { $0 + field.value.lowerBound },
                                             namelen: field.name.count, valuelen: field.value.count,
                                             flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
            }
            return nameValues.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
        }
    }

    func makeStream(_ id: H2StreamID) -> H2Stream {
        let state = spareStreams.popLast() ?? H2Stream()
        state.reset(id: id)
        streams[id] = state
        return state
    }

    func dropStream(_ id: H2StreamID) {
        guard let state = streams.removeValue(forKey: id) else { return }
        bufferedBodyTotal -= state.buffered
        state.reset(id: 0)
        if spareStreams.count < 64 { spareStreams.append(state) }
    }
}

@available(*, unavailable)
extension H2ServerCodec: Sendable {}

/// The header block in progress: where its fields start in `inbound`, its pseudo-headers and
/// its cookie values (joined into one field when the block ends).
struct HeaderBlock {
    var stream: H2StreamID = 0
    var firstField = 0
    var method: Range<Int>?
    var scheme: Range<Int>?
    var authority: Range<Int>?
    var path: Range<Int>?
    var cookies: [Range<Int>] = []

    mutating func start(stream: H2StreamID, firstField: Int) {
        self.stream = stream
        self.firstField = firstField
        method = nil; scheme = nil; authority = nil; path = nil
        cookies.removeAll(keepingCapacity: true)
    }
}

import CNGHTTP2

/// nghttp2's callbacks, as C function pointers that find their codec through the session's
/// user data (the codec, unretained) and turn what nghttp2 reports into `H2Event`s. They run
/// inside `nghttp2_session_mem_recv` / `mem_send`, so on the codec's thread.
enum H2Callbacks {
    static func install(on callbacks: OpaquePointer) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_invalid_header_callback(callbacks, onInvalidHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameRecv)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSend)
        nghttp2_session_callbacks_set_error_callback2(callbacks, onError)
    }

    static func codec(_ userData: UnsafeMutableRawPointer?) -> H2ServerCodec? {
        userData.map { Unmanaged<H2ServerCodec>.fromOpaque($0).takeUnretainedValue() }
    }

    /// `body` with the codec, borrowed rather than retained: for the callbacks nghttp2 makes per
    /// header field. The session calls back only from inside the codec's own calls, so the codec
    /// is alive throughout.
    @inline(__always)
    static func withCodec(_ userData: UnsafeMutableRawPointer?, _ body: (H2ServerCodec) -> Int32) -> Int32 {
        guard let userData else { return 0 }
        return Unmanaged<H2ServerCodec>.fromOpaque(userData)._withUnsafeGuaranteedRef(body)
    }

    static func frameType(_ frame: UnsafePointer<nghttp2_frame>) -> UInt32 { UInt32(frame.pointee.hd.type) }
    static func hasEndStream(_ frame: UnsafePointer<nghttp2_frame>) -> Bool {
        frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
    }

    /// A HEADERS frame starts: for a new request (HCAT_REQUEST) the stream's state is made;
    /// for trailers the stream's exists already.
    static let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, userData in
        guard let codec = codec(userData), let frame, frameType(frame) == NGHTTP2_HEADERS.rawValue else { return 0 }
        let id = frame.pointee.hd.stream_id
        if frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST {
            let state = codec.makeStream(id)
            nghttp2_session_set_stream_user_data(codec.session, id, Unmanaged.passUnretained(state).toOpaque())
        }
        codec.streams[id]?.headerListSize = 0
        codec.block.start(stream: id, firstField: codec.inbound.count)
        return 0
    }

    /// One decoded field (already checked by nghttp2 against RFC 9113's rules).
    static let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
        withCodec(userData) { codec in onHeader(codec, frame, name, nameLength, value, valueLength) }
    }

    private static func onHeader(_ codec: H2ServerCodec, _ frame: UnsafePointer<nghttp2_frame>?, _ name: UnsafePointer<UInt8>?,
                                 _ nameLength: Int, _ value: UnsafePointer<UInt8>?, _ valueLength: Int) -> Int32 {
        guard let frame, let state = codec.streams[frame.pointee.hd.stream_id] else { return 0 }
        state.headerListSize += nameLength + valueLength + 32
        if state.headerListSize > Int(codec.settings.maxHeaderListSize) { state.oversized = true }
        if state.oversized { return 0 }
        let n = UnsafeRawBufferPointer(start: name, count: nameLength)
        let v = UnsafeRawBufferPointer(start: value, count: valueLength)
        if nameLength > 0, n[0] == UInt8(ascii: ":") {
            let range = codec.inbound.appendBytes(v)
            switch nameLength {
            case 7 where ResponseFieldRules.equalsLowercase(n, ":method"): codec.block.method = range
            case 7 where ResponseFieldRules.equalsLowercase(n, ":scheme"): codec.block.scheme = range
            case 5 where ResponseFieldRules.equalsLowercase(n, ":path"): codec.block.path = range
            case 10 where ResponseFieldRules.equalsLowercase(n, ":authority"): codec.block.authority = range
            default: break  // nghttp2 refuses other pseudo-headers before they get here
            }
        } else if nameLength == 6, ResponseFieldRules.equalsLowercase(n, "cookie") {
            codec.block.cookies.append(codec.inbound.appendBytes(v))
        } else {
            codec.inbound.append(name: n, value: v)
        }
        return 0
    }

    /// A field nghttp2 would silently drop (a name with uppercase letters or bytes outside
    /// RFC 9113's set): RFC 9113 §8.2.1 calls the request malformed, so the stream is reset
    /// with PROTOCOL_ERROR instead.
    static let onInvalidHeader: nghttp2_on_invalid_header_callback = { session, frame, _, _, _, _, _, _ in
        if let frame {
            _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), frame.pointee.hd.stream_id,
                                          H2ErrorCode.protocolError)
        }
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
    }

    static let onFrameRecv: nghttp2_on_frame_recv_callback = { session, frame, userData in
        guard let codec = codec(userData), let frame else { return 0 }
        let id = frame.pointee.hd.stream_id
        switch frameType(frame) {
        case NGHTTP2_HEADERS.rawValue:
            guard let state = codec.streams[id] else { return 0 }
            if frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST {
                codec.requestHeadersComplete(state, endStream: hasEndStream(frame))
            } else if state.delivered {
                codec.appendCookies()
                codec.append(.trailers(stream: id, fields: codec.block.firstField..<codec.inbound.count))
            }
            if hasEndStream(frame) && state.delivered { codec.append(.requestEnd(stream: id)) }
        case NGHTTP2_DATA.rawValue:
            if hasEndStream(frame), let state = codec.streams[id], state.delivered {
                codec.append(.requestEnd(stream: id))
            }
        case NGHTTP2_RST_STREAM.rawValue:
            if let state = codec.streams[id], state.delivered {
                codec.append(.reset(stream: id, error: frame.pointee.rst_stream.error_code))
            }
        case NGHTTP2_GOAWAY.rawValue:
            codec.append(.goAway(lastStreamID: frame.pointee.goaway.last_stream_id,
                                 error: frame.pointee.goaway.error_code))
        default:
            break
        }
        return 0
    }

    static let onDataChunk: nghttp2_on_data_chunk_recv_callback = { session, _, id, data, length, userData in
        guard let codec = codec(userData), let state = codec.streams[id] else { return 0 }
        guard state.delivered else {
            // A request answered 431 by the codec: its body goes nowhere, its window reopens.
            _ = nghttp2_session_consume(session, id, length)
            return 0
        }
        state.unconsumed += length
        let range = codec.inbound.appendBytes(UnsafeRawBufferPointer(start: data, count: length))
        // Consecutive chunks of one stream become one event.
        if case .data(let last, let bytes)? = codec.events.last, last == id, bytes.upperBound == range.lowerBound {
            codec.events[codec.events.count - 1] = .data(stream: id, bytes: bytes.lowerBound..<range.upperBound)
        } else {
            codec.append(.data(stream: id, bytes: range))
        }
        return 0
    }

    static let onStreamClose: nghttp2_on_stream_close_callback = { session, id, error, userData in
        guard let codec = codec(userData), let state = codec.streams[id] else { return 0 }
        // Request body the caller never reported forwarded: the connection window gets it back.
        if state.unconsumed > 0 { _ = nghttp2_session_consume_connection(session, state.unconsumed) }
        if state.delivered { codec.append(.closed(stream: id, error: error)) }
        codec.dropStream(id)
        return 0
    }

    /// A GOAWAY with an error code going out means the connection failed.
    static let onFrameSend: nghttp2_on_frame_send_callback = { _, frame, userData in
        guard let codec = codec(userData), let frame, frameType(frame) == NGHTTP2_GOAWAY.rawValue,
              frame.pointee.goaway.error_code != H2ErrorCode.noError else { return 0 }
        codec.reportConnectionError(frame.pointee.goaway.error_code)
        return 0
    }

    static let onError: nghttp2_error_callback2 = { _, _, message, length, userData in
        if let codec = codec(userData), let message {
            codec.lastErrorMessage = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
        }
        return 0
    }

    /// The response body's data provider: moves buffered bytes into nghttp2's frame; with
    /// nothing buffered and the body not finished, defers until `appendBody` / `finishBody`
    /// resume it; at the end, either END_STREAM on the last DATA or the trailers.
    static let readBody: nghttp2_data_source_read_callback = { session, id, buffer, length, flags, source, userData in
        guard let pointer = source?.pointee.ptr, let buffer, let flags else {
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        let state = Unmanaged<H2Stream>.fromOpaque(pointer).takeUnretainedValue()
        let n = state.readBody(into: buffer, length: length)
        codec(userData)?.bufferedBodyTotal -= n
        if state.buffered == 0 {
            if state.finished {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                if state.trailers.count > 0 {
                    flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                    let codec = codec(userData)
                    let rv = codec?.withNameValues(state.trailers) { nva, count in
                        nghttp2_submit_trailer(session, id, nva, count)
                    } ?? NGHTTP2_ERR_CALLBACK_FAILURE.rawValue
                    if rv != 0 { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
                }
            } else if n == 0 {
                state.deferred = true
                return Int(NGHTTP2_ERR_DEFERRED.rawValue)
            }
        }
        return n
    }
}

extension H2ServerCodec {
    /// The request's header block is complete: answered 431 when too large, otherwise handed
    /// to the caller as `.request`.
    func requestHeadersComplete(_ state: H2Stream, endStream: Bool) {
        if state.oversized {
            state.responded = true
            state.finished = true
            var nv = [nghttp2_nv]()
            var name = Array(":status".utf8), value = Array("431".utf8)
            name.withUnsafeMutableBufferPointer { n in
                value.withUnsafeMutableBufferPointer { v in
                    nv = [nghttp2_nv(name: n.baseAddress, value: v.baseAddress, namelen: n.count, valuelen: v.count,
                                     flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))]
                    _ = nghttp2_submit_response(session, state.id, &nv, 1, nil)
                }
            }
            return
        }
        guard let method = block.method else { return }
        appendCookies()
        state.delivered = true
        events.append(.request(H2RequestHead(stream: state.id, method: method, scheme: block.scheme, path: block.path,
                                             authority: block.authority, fields: block.firstField..<inbound.count,
                                             endStream: endStream)))
    }

    /// Several `cookie` fields become one, values joined with "; " (RFC 9113 §8.2.3).
    func appendCookies() {
        guard !block.cookies.isEmpty else { return }
        let name = inbound.appendBytes(UnsafeRawBufferPointer(start: cookieName.utf8Start, count: cookieName.utf8CodeUnitCount))
        let start = inbound.bytes.count
        for (i, cookie) in block.cookies.enumerated() {
            if i > 0 { inbound.appendByte(UInt8(ascii: ";")); inbound.appendByte(UInt8(ascii: " ")) }
            _ = inbound.appendOwnBytes(cookie)
        }
        inbound.appendField(name: name, value: start..<inbound.bytes.count)
        block.cookies.removeAll(keepingCapacity: true)
    }
}

private let cookieName: StaticString = "cookie"

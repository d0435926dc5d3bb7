/// An HTTP/2 stream identifier (client-initiated streams are odd).
public typealias H2StreamID = Int32

/// A request's head as it arrived: the pseudo-header fields and the regular fields, as ranges
/// into the codec's `inbound` list (its `bytes` for the pseudo-headers, its `fields` for the rest).
public struct H2RequestHead: Sendable, Equatable {
    public var stream: H2StreamID
    /// `:method`, always present (nghttp2 refuses a request without it).
    public var method: Range<Int>
    /// `:scheme` and `:path`: present except in CONNECT.
    public var scheme: Range<Int>?
    public var path: Range<Int>?
    /// `:authority`; when absent, a `host` field stands in for it (nghttp2 resets a request
    /// that has neither).
    public var authority: Range<Int>?
    /// The regular fields: indices into `inbound.fields`. Several `cookie` fields arrive as
    /// one, their values joined with "; " (RFC 9113 §8.2.3), placed last.
    public var fields: Range<Int>
    /// The HEADERS frame ended the stream: the request has no body (an `.requestEnd` follows).
    public var endStream: Bool
}

/// What the client did, in the order it happened. Ranges point into the codec's `inbound`
/// list, valid until `clearEvents()`.
public enum H2Event: Sendable, Equatable {
    /// A request's header block is complete.
    case request(H2RequestHead)
    /// Request body bytes (`inbound.bytes[bytes]`). The client's window for this stream opens
    /// again only as the caller reports them forwarded with `consumed(stream:bytes:)`.
    case data(stream: H2StreamID, bytes: Range<Int>)
    /// Request trailers (indices into `inbound.fields`).
    case trailers(stream: H2StreamID, fields: Range<Int>)
    /// The client finished its request (END_STREAM seen, after any data and trailers).
    case requestEnd(stream: H2StreamID)
    /// The client reset the stream (RST_STREAM with this error code): stop its response.
    case reset(stream: H2StreamID, error: UInt32)
    /// A stream the caller was given is closed, both ways, for whatever reason (answered,
    /// reset by either side, refused by a GOAWAY): the last event for it; its state is gone.
    case closed(stream: H2StreamID, error: UInt32)
    /// The client sent GOAWAY: it opens no stream above `lastStreamID`.
    case goAway(lastStreamID: H2StreamID, error: UInt32)
    /// The connection is over because of an error (a GOAWAY with this error code was sent, or
    /// receiving failed): once the output is flushed, close the socket.
    case connectionError(error: UInt32)
}

/// HTTP/2 error codes (RFC 9113 §7) the caller may want to name.
public enum H2ErrorCode {
    public static let noError: UInt32 = 0x0
    public static let protocolError: UInt32 = 0x1
    public static let internalError: UInt32 = 0x2
    public static let flowControlError: UInt32 = 0x3
    public static let streamClosed: UInt32 = 0x5
    public static let frameSizeError: UInt32 = 0x6
    public static let refusedStream: UInt32 = 0x7
    public static let cancel: UInt32 = 0x8
    public static let compressionError: UInt32 = 0x9
    public static let enhanceYourCalm: UInt32 = 0xB
}

/// The limits an HTTP/2 server connection announces in its SETTINGS and enforces through
/// nghttp2's options. Defaults follow common servers (nginx, HAProxy, nghttpx).
public struct H2Settings: Sendable, Equatable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams the client may have open at once. One beyond it
    /// is refused (RST_STREAM REFUSED_STREAM), so the client may retry it elsewhere.
    public var maxConcurrentStreams: UInt32 = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE: bytes of request body a client may send on one stream
    /// before the caller reports them forwarded (`H2ServerCodec.consumed`).
    public var initialWindowSize: UInt32 = 65_535
    /// The connection's receive window, across all streams (raised with a WINDOW_UPDATE on
    /// stream 0 right after SETTINGS). At least `initialWindowSize`, so one stream is never
    /// held back by the connection alone.
    public var connectionWindowSize: UInt32 = 1 << 20
    /// SETTINGS_MAX_FRAME_SIZE: the largest frame payload the client may send.
    public var maxFrameSize: UInt32 = 16_384
    /// SETTINGS_MAX_HEADER_LIST_SIZE: the decoded size (RFC 9113 §6.5.2: name + value + 32 per
    /// field) of one request's header block. nghttp2 does not enforce it; the codec does, and
    /// answers 431 to a larger request without handing it to the caller.
    public var maxHeaderListSize: UInt32 = 65_536
    /// SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table the client's encoder may use (and
    /// so the memory the decoder holds).
    public var headerTableSize: UInt32 = 4_096

    /// Entries accepted in one SETTINGS frame; more ends the connection.
    public var maxSettingsEntries: Int = 32
    /// SETTINGS ACK and PING ACK frames queued but not yet sent; more is a flood (receive
    /// fails with `H2Error.flooded`).
    public var maxOutboundAcks: Int = 1_000
    /// Incoming RST_STREAM as a token bucket (rapid reset, CVE-2023-44487): `resetBurst` tokens,
    /// `resetRate` regained per second; with none left the connection gets GOAWAY.
    public var resetBurst: UInt64 = 1_000
    public var resetRate: UInt64 = 33
    /// CONTINUATION frames after one HEADERS (CVE-2024-28182); more ends the connection.
    public var maxContinuations: Int = 8

    public init() {}
}

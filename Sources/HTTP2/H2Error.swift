import CNGHTTP2

/// Why a codec call failed: nghttp2's library error code (negative) and its message.
public struct H2Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// nghttp2's `nghttp2_error` value (negative).
    public var code: Int32

    public init(code: Int32) { self.code = code }

    /// What nghttp2 calls this error.
    public var description: String { String(cString: nghttp2_strerror(code)) }

    /// The peer queued more SETTINGS / PING acknowledgements (or other control frames) than
    /// allowed: a flood; the connection must close.
    public static let flooded = H2Error(code: NGHTTP2_ERR_FLOODED.rawValue)
    /// The connection did not start with the client preface.
    public static let badClientMagic = H2Error(code: NGHTTP2_ERR_BAD_CLIENT_MAGIC.rawValue)
    /// The stream is not open (never was, or already closed), or not in a state for this call.
    public static let streamClosed = H2Error(code: NGHTTP2_ERR_STREAM_CLOSED.rawValue)
    /// The call does not fit the stream's state (a second response, a body after endStream).
    public static let invalidState = H2Error(code: NGHTTP2_ERR_INVALID_STATE.rawValue)
    /// An argument is out of range (a status outside 100...999, stream 0).
    public static let invalidArgument = H2Error(code: NGHTTP2_ERR_INVALID_ARGUMENT.rawValue)
}

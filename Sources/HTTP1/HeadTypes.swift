/// The parsed head of an HTTP/1.x message. Fields are offsets into the caller's bytes (the head
/// starts at offset 0 of the buffer passed to the parser), so parsing copies nothing: the data
/// plane forwards the original bytes and only rewrites what the proxy must change.

public enum HTTPVersion: Sendable, Equatable {
    case http10
    case http11
}

/// How the body that follows a head is delimited (RFC 9112 §6).
public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(UInt64)
    case chunked
    /// Responses only: the body ends when the upstream closes the connection.
    case untilClose
}

/// What the proxy needs to know about a header field without comparing names again.
public enum FieldKind: UInt8, Sendable {
    case other
    /// Connection, Keep-Alive, TE, Trailer, Proxy-Connection, and any other field named by a
    /// Connection header: never forwarded. (Upgrade and Transfer-Encoding are hop-by-hop too but
    /// have their own kinds, because the proxy keeps them in some cases.)
    case hopByHop
    case host
    case contentLength
    case transferEncoding
    case upgrade
    case xForwardedFor
    case xForwardedProto
}

public struct HeaderField: Sendable, Equatable {
    public var name: Range<Int>
    public var value: Range<Int>
    public var kind: FieldKind

    public init(name: Range<Int>, value: Range<Int>, kind: FieldKind) {
        self.name = name
        self.value = value
        self.kind = kind
    }
}

public struct RequestHead: Sendable {
    public var method: Range<Int> = 0..<0
    public var target: Range<Int> = 0..<0
    public var version: HTTPVersion = .http11
    public var fields: [HeaderField] = []
    public var framing: BodyFraming = .none
    /// The client asked to close after this exchange (Connection: close, or HTTP/1.0 without
    /// Connection: keep-alive).
    public var wantsClose = false
    public var expectContinue = false
    /// An `Upgrade` field together with `Connection: upgrade` (e.g. WebSocket).
    public var upgrade = false
    public var isHEAD = false
    public var isCONNECT = false
    /// Length of the head including the final CRLF CRLF.
    public var headLength = 0

    public init() {
        fields.reserveCapacity(32)
    }
}

public struct ResponseHead: Sendable {
    public var status = 0
    /// The whole status line without its CRLF, forwarded verbatim.
    public var statusLine: Range<Int> = 0..<0
    /// The reason phrase (possibly empty), so the serializer can rebuild the status line with a
    /// rewritten version without re-scanning it.
    public var reason: Range<Int> = 0..<0
    public var version: HTTPVersion = .http11
    public var fields: [HeaderField] = []
    public var framing: BodyFraming = .none
    /// The upstream will close after this response (Connection: close, HTTP/1.0 without keep-alive).
    public var wantsClose = false
    public var headLength = 0

    public init() {
        fields.reserveCapacity(32)
    }

    public var isInformational: Bool { status >= 100 && status < 200 }
}

public struct ParseLimits: Sendable {
    public var maxHeaderBytes: Int
    public var maxTargetBytes: Int
    public var maxFields: Int

    public init(maxHeaderBytes: Int = 16384, maxTargetBytes: Int = 8192, maxFields: Int = 100) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxTargetBytes = maxTargetBytes
        self.maxFields = maxFields
    }
}

/// Why a message was rejected; `status` is the answer the proxy gives a client for it.
public struct HTTPParseError: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case malformed
        case uriTooLong
        case headerTooLarge
        case unsupportedTransferCoding
        /// A well-formed request using a feature the proxy does not forward (a transfer coding
        /// other than chunked): 501, as RFC 9112 §6.1 asks.
        case notImplemented
        case versionNotSupported
    }
    public var kind: Kind
    /// A short human reason, for logs and the 400 body; never includes client bytes.
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var status: Int {
        switch kind {
        case .malformed, .unsupportedTransferCoding: 400
        case .uriTooLong: 414
        case .headerTooLarge: 431
        case .notImplemented: 501
        case .versionNotSupported: 505
        }
    }
}

/// Result of feeding the bytes received so far to a head parser.
public enum HeadParseResult: Sendable, Equatable {
    /// The head is not complete yet; read more (the limits were not exceeded so far).
    case incomplete
    /// The head is complete and valid; it is `headLength` bytes long.
    case complete
}

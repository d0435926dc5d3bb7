/// An incremental decoder for a chunked message body (RFC 9112 §7.1): a state machine that can be
/// fed the body in any split, even a byte at a time, and never buffers or allocates. It reports
/// the chunk data (for de-chunking) and where the body ends (so the bytes after it — the next
/// pipelined message — are left alone). The proxy also runs it when it forwards a chunked body
/// as is, purely to find the end of the message.
///
/// Strict, because the end of a chunked body is exactly where request smuggling hides:
/// - chunk-size is 1–16 hex digits (at most 64 bits; leading zeros count towards the 16) with
///   nothing before it, not even whitespace;
/// - chunk extensions must match `*( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )`,
///   with no whitespace before the CRLF, and take at most `maxExtensionBytes` per chunk line;
/// - chunk data must be followed by CRLF; every line ends with CRLF (bare LF, bare CR → 400);
/// - trailer fields follow the header field rules (no obs-fold, no whitespace before the colon,
///   no controls in values); the trailer section is at most `maxTrailerBytes` long (→ 431).
///
/// Used by one connection at a time on its loop thread. After it throws, the message is broken
/// and the decoder must not be fed again (the connection is closed).
public struct ChunkedDecoder: Sendable {
    enum State: UInt8, Sendable {
        case sizeStart, size, sizeWhitespace
        case extensionNameStart, extensionName, extensionAfterName
        case extensionValueStart, extensionToken, extensionQuoted, extensionQuotedEscape
        case extensionAfterValue, extensionAfterQuoted
        case sizeLineLF
        case data, dataCR, dataLF
        case trailerLineStart, trailerName, trailerValue, trailerLineLF, finalLF
        case finished
    }

    /// Maximum hex digits in a chunk-size: 16 digits hold any 64-bit size.
    static let maxSizeDigits = 16

    var state: State = .sizeStart
    /// The chunk-size being read, then the chunk data still to come.
    var remaining: UInt64 = 0
    var sizeDigits = 0
    var extensionBytes = 0
    var trailerBytes = 0
    public let maxExtensionBytes: Int
    public let maxTrailerBytes: Int

    public init(maxExtensionBytes: Int = 4096, maxTrailerBytes: Int = 16384) {
        self.maxExtensionBytes = maxExtensionBytes
        self.maxTrailerBytes = maxTrailerBytes
    }

    /// True once the last chunk and the trailer section have been consumed.
    public var isFinished: Bool { state == .finished }

    /// Consumes as much of `input` as belongs to the body and calls `payload` with each span of
    /// chunk data (spans point into `input` and are valid only during the call). Returns how many
    /// bytes were consumed — all of `input` unless the body ended inside it, in which case
    /// consumption stops right after the final CRLF — and whether the body is finished. Once
    /// finished, further calls consume nothing and return `finished: true`.
    /// `trailer` sees the bytes of the trailer section (its field lines with their
    /// CRLFs, not the final empty line), after they passed the checks.
    public mutating func decode(
        _ input: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void,
        trailer: (UInt8) -> Void = { _ in }
    ) throws(HTTPParseError) -> (consumed: Int, finished: Bool) {
        if state == .finished { return (0, true) }
        let count = input.count
        var i = 0
        while i < count {
            if state == .data {
                let available = count - i
                let take = remaining < UInt64(available) ? Int(remaining) : available
                payload(UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                remaining -= UInt64(take)
                if remaining == 0 { state = .dataCR }
                continue
            }
            let b = input[i]
            i += 1
            let inTrailer = state == .trailerName || state == .trailerValue || state == .trailerLineLF
                || (state == .trailerLineStart && b != ASCII.cr)
            if try step(b) { return (i, true) }
            if inTrailer { trailer(b) }
        }
        return (count, false)
    }

    /// Advances the framing states by one byte; returns true when that byte ended the body.
    @inline(__always)
    private mutating func step(_ b: UInt8) throws(HTTPParseError) -> Bool {
        switch state {
        case .sizeStart:
            guard let digit = ASCII.hexValue(b) else { throw .badChunkSize }
            remaining = UInt64(digit)
            sizeDigits = 1
            extensionBytes = 0
            state = .size
        case .size:
            if let digit = ASCII.hexValue(b) {
                sizeDigits += 1
                guard sizeDigits <= Self.maxSizeDigits else { throw .badChunkSize }
                remaining = remaining << 4 | UInt64(digit)
            } else if b == ASCII.cr {
                state = .sizeLineLF
            } else if b == ASCII.semicolon {
                try countExtensionByte()
                state = .extensionNameStart
            } else if ASCII.isWhitespace(b) {
                try countExtensionByte()
                state = .sizeWhitespace
            } else if b == ASCII.lf {
                throw .bareLF
            } else {
                throw .badChunkSize
            }
        case .sizeWhitespace, .extensionAfterValue:
            // BWS is only allowed when a ';' follows.
            try countExtensionByte()
            if b == ASCII.semicolon { state = .extensionNameStart }
            else if !ASCII.isWhitespace(b) { throw .badChunkExtension }
        case .extensionNameStart:
            try countExtensionByte()
            if ASCII.isTchar(b) { state = .extensionName }
            else if !ASCII.isWhitespace(b) { throw .badChunkExtension }
        case .extensionName:
            if b == ASCII.cr { state = .sizeLineLF; return false }
            try countExtensionByte()
            if ASCII.isTchar(b) { break }
            if b == ASCII.equals { state = .extensionValueStart }
            else if b == ASCII.semicolon { state = .extensionNameStart }
            else if ASCII.isWhitespace(b) { state = .extensionAfterName }
            else { throw .badChunkExtension }
        case .extensionAfterName:
            try countExtensionByte()
            if b == ASCII.equals { state = .extensionValueStart }
            else if b == ASCII.semicolon { state = .extensionNameStart }
            else if !ASCII.isWhitespace(b) { throw .badChunkExtension }
        case .extensionValueStart:
            try countExtensionByte()
            if ASCII.isTchar(b) { state = .extensionToken }
            else if b == ASCII.dquote { state = .extensionQuoted }
            else if !ASCII.isWhitespace(b) { throw .badChunkExtension }
        case .extensionToken, .extensionAfterQuoted:
            if b == ASCII.cr { state = .sizeLineLF; return false }
            try countExtensionByte()
            if state == .extensionToken && ASCII.isTchar(b) { break }
            if b == ASCII.semicolon { state = .extensionNameStart }
            else if ASCII.isWhitespace(b) { state = .extensionAfterValue }
            else { throw .badChunkExtension }
        case .extensionQuoted:
            try countExtensionByte()
            if b == ASCII.dquote { state = .extensionAfterQuoted }
            else if b == ASCII.backslash { state = .extensionQuotedEscape }
            else if !ASCII.isFieldValueByte(b) { throw .badChunkExtension }
        case .extensionQuotedEscape:
            try countExtensionByte()
            guard ASCII.isFieldValueByte(b) else { throw .badChunkExtension }
            state = .extensionQuoted
        case .sizeLineLF:
            guard b == ASCII.lf else { throw .bareCR }
            if remaining == 0 {
                trailerBytes = 0
                state = .trailerLineStart
            } else {
                state = .data
            }
        case .data:
            // Handled in bulk by `decode`; unreachable here.
            break
        case .dataCR:
            guard b == ASCII.cr else { throw .missingChunkDataCRLF }
            state = .dataLF
        case .dataLF:
            guard b == ASCII.lf else { throw .missingChunkDataCRLF }
            state = .sizeStart
        case .trailerLineStart:
            try countTrailerByte()
            if b == ASCII.cr { state = .finalLF }
            else if ASCII.isTchar(b) { state = .trailerName }
            else if b == ASCII.lf { throw .bareLF }
            else if ASCII.isWhitespace(b) { throw .obsFold }
            else { throw .badFieldName }
        case .trailerName:
            try countTrailerByte()
            if b == ASCII.colon { state = .trailerValue }
            else if ASCII.isWhitespace(b) { throw .spaceBeforeColon }
            else if b == ASCII.lf { throw .bareLF }
            else if !ASCII.isTchar(b) { throw .badFieldName }
        case .trailerValue:
            try countTrailerByte()
            if b == ASCII.cr { state = .trailerLineLF }
            else if b == ASCII.lf { throw .bareLF }
            else if !ASCII.isFieldValueByte(b) { throw .badFieldValue }
        case .trailerLineLF:
            try countTrailerByte()
            guard b == ASCII.lf else { throw .bareCR }
            state = .trailerLineStart
        case .finalLF:
            guard b == ASCII.lf else { throw .bareCR }
            state = .finished
            return true
        case .finished:
            return true
        }
        return false
    }

    @inline(__always)
    private mutating func countExtensionByte() throws(HTTPParseError) {
        extensionBytes += 1
        if extensionBytes > maxExtensionBytes { throw .chunkExtensionTooLong }
    }

    @inline(__always)
    private mutating func countTrailerByte() throws(HTTPParseError) {
        trailerBytes += 1
        if trailerBytes > maxTrailerBytes { throw .trailerTooLarge }
    }
}

extension HTTPParseError {
    static var badChunkSize: HTTPParseError { .init(.malformed, "invalid chunk size") }
    static var badChunkExtension: HTTPParseError { .init(.malformed, "invalid chunk extension") }
    static var chunkExtensionTooLong: HTTPParseError { .init(.malformed, "chunk extension too long") }
    static var missingChunkDataCRLF: HTTPParseError { .init(.malformed, "missing CRLF after chunk data") }
    static var trailerTooLarge: HTTPParseError { .init(.headerTooLarge, "trailer section too large") }
}

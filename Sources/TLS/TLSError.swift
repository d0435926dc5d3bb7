import COpenSSL

/// A TLS set-up failure with a message an operator can act on: it names the file (as the caller
/// named it) and says what is wrong with it.
public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// OpenSSL reports its reasons on a per-thread error queue.
enum OpenSSLErrors {
    /// Empties the calling thread's error queue and returns its reasons, oldest first, joined
    /// ("" when it was empty). Called after a failure, so a stale entry never misleads the next call.
    static func drain() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if let reason = ERR_reason_error_string(code) {
                reasons.append(String(cString: reason))
            } else {
                reasons.append("error \(code)")
            }
        }
        return reasons.joined(separator: "; ")
    }

    /// `what` followed by OpenSSL's reasons, if it gave any.
    static func failure(_ what: String) -> TLSError {
        let reasons = drain()
        return TLSError(reasons.isEmpty ? what : "\(what) (\(reasons))")
    }
}

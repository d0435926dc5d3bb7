import Config

/// What an HTTP probe sends and how its answer is judged. Built once per target when the checker
/// is configured, so a probe only copies ready bytes into the socket.
struct HealthRequest: Sendable, Equatable {
    /// The whole request: `GET <path> HTTP/1.1`, `Host`, `User-Agent`, `Connection: close`.
    /// Empty for `tcp` checks, which send nothing.
    let bytes: [UInt8]
    let expectStatus: [ClosedRange<Int>]

    /// `hostHeader` is the backend's address as written, used when the check names no `host`.
    init(_ check: HealthCheckConfig, hostHeader: String) {
        expectStatus = check.expectStatus
        guard check.type == .http else {
            bytes = []
            return
        }
        // The config validates `path`; `host` is free text, so anything that could end the
        // header line (or is not visible ASCII) is dropped rather than sent.
        let host = Self.visibleASCII(check.host ?? hostHeader)
        let path = Self.visibleASCII(check.path)
        let text = "GET \(path.isEmpty ? "/" : path) HTTP/1.1\r\nHost: \(host)\r\n"
            + "User-Agent: cutover-health\r\nConnection: close\r\n\r\n"
        bytes = Array(text.utf8)
    }

    /// Whether `status` is one the check accepts.
    func accepts(status: Int) -> Bool {
        expectStatus.contains { $0.contains(status) }
    }

    private static func visibleASCII(_ text: String) -> String {
        String(decoding: text.utf8.filter { $0 > 0x20 && $0 < 0x7f }, as: UTF8.self)
    }
}

import Foundation
import Glibc

/// One access-log line, parsed by Foundation's JSON parser.
struct AccessLogLine: CustomStringConvertible {
    let fields: [String: Any]
    let text: String

    func string(_ key: String) -> String? { fields[key] as? String }
    func int(_ key: String) -> Int? { (fields[key] as? NSNumber)?.intValue }
    func seconds(_ key: String) -> Double? { (fields[key] as? NSNumber)?.doubleValue }
    func isNull(_ key: String) -> Bool { fields[key] is NSNull }
    var description: String { text }
}

/// Reads access logs the way an operator's tools would: whole lines only (a line still being
/// written is not one yet), each a JSON object.
enum AccessLogFile {
    static func parse(_ text: String) throws -> [AccessLogLine] {
        var complete = text
        if let lastNewline = complete.lastIndex(of: "\n") {
            complete = String(complete[...lastNewline])
        } else {
            return []
        }
        return try complete.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ChildFailure("access log line is not a JSON object: \(line)")
            }
            return AccessLogLine(fields: object, text: String(line))
        }
    }

    /// The lines of the file at `url`; none while it does not exist.
    static func lines(at url: URL) throws -> [AccessLogLine] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        return try parse(String(decoding: data, as: UTF8.self))
    }

    /// Waits until the file holds at least `count` lines, and returns them.
    static func waitForLines(at url: URL, count: Int, timeout: Duration = .seconds(10)) async throws -> [AccessLogLine] {
        var lines: [AccessLogLine] = []
        try await waitUntil("\(url.lastPathComponent) holds \(count) lines", timeout: timeout) {
            lines = try AccessLogFile.lines(at: url)
            return lines.count >= count
        }
        return lines
    }
}

extension RawClient {
    /// The client's own port, as the proxy sees it (`client_port`).
    var localPort: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}

extension HTTPResponse {
    /// Bytes this response took on the wire: status line, fields as `Name: value`, the empty
    /// line, the body (length-delimited answers only).
    var wireLength: Int {
        var head = "\(version) \(status) \(reason)\r\n"
        for field in headers { head += "\(field.name): \(field.value)\r\n" }
        return head.utf8.count + 2 + body.count
    }
}

import Config
import EventLoop
import Glibc

/// One HTTP/1.1 request to etcd's JSON gateway over a blocking socket (`BlockingSocket`), and its
/// answer read as it comes: whole (`readAll`, for unary calls) or piece by piece (`nextObject`,
/// for a watch, whose answer is one long chunked body of JSON objects).
///
/// Used by one thread at a time; every wait ends at the deadline given.
final class GatewayConnection {
    let endpoint: ClusterConfig.Endpoint
    private let fd: Int32
    private var input: [UInt8] = []
    /// The decoded body bytes not yet handed out.
    private var body: [UInt8] = []
    private var chunked = false
    private var contentLength: Int?
    private var bodyRead = 0
    /// Bytes left of the current chunk (chunked framing), nil between chunks.
    private var chunkLeft: Int?
    private var ended = false
    private(set) var status = 0

    /// Connects and sends `POST path` with `json`. Throws a one-line reason on failure.
    init(_ endpoint: ClusterConfig.Endpoint, path: String, json: [UInt8], deadline: UInt64) throws(GatewayFailure) {
        self.endpoint = endpoint
        guard let address = SocketAddress.resolve(host: endpoint.host, port: endpoint.port) else {
            throw GatewayFailure("\(endpoint): cannot resolve \(endpoint.host)")
        }
        do {
            fd = try BlockingSocket.connect(to: address, deadline: deadline)
        } catch {
            throw GatewayFailure("\(endpoint): \(error)")
        }
        let head = "POST \(path) HTTP/1.1\r\nHost: \(endpoint.address)\r\nUser-Agent: cutover\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(json.count)\r\nConnection: close\r\n\r\n"
        do {
            try BlockingSocket.writeAll(fd, Array(head.utf8) + json, deadline: deadline)
        } catch {
            Socket.close(fd)
            throw GatewayFailure("\(endpoint): sending failed: \(error)")
        }
    }

    deinit { Socket.close(fd) }

    /// Reads the status line and the fields.
    func readHead(deadline: UInt64) throws(GatewayFailure) {
        while true {
            if let end = GatewayConnection.find([13, 10, 13, 10], in: input) {
                let text = String(decoding: input[..<end], as: UTF8.self)
                input.removeFirst(end + 4)
                let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
                let parts = lines.first?.split(separator: " ") ?? []
                guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else {
                    throw GatewayFailure("\(endpoint): not an HTTP answer")
                }
                status = code
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let name = line[..<colon].lowercased()
                    let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
                    if name == "content-length" { contentLength = Int(value) }
                    if name == "transfer-encoding" && value.lowercased().contains("chunked") { chunked = true }
                }
                if contentLength == 0 && !chunked { ended = true }
                return
            }
            guard try fill(deadline: deadline) else { throw GatewayFailure("\(endpoint): closed before answering") }
        }
    }

    /// The whole body.
    func readAll(deadline: UInt64) throws(GatewayFailure) -> [UInt8] {
        while try decodeMore(deadline: deadline) {}
        defer { body.removeAll() }
        return body
    }

    /// The next complete top-level JSON object of the body, or nil when the body has ended.
    func nextObject(deadline: UInt64) throws(GatewayFailure) -> [UInt8]? {
        while true {
            if let end = GatewayConnection.objectEnd(in: body) {
                let object = Array(body[..<end])
                body.removeFirst(end)
                if object.contains(where: { $0 == UInt8(ascii: "{") }) { return object }
                continue
            }
            guard try decodeMore(deadline: deadline) else { return nil }
        }
    }

    /// Moves more body bytes into `body`; false once the body has ended.
    private func decodeMore(deadline: UInt64) throws(GatewayFailure) -> Bool {
        if ended { return false }
        if !chunked {
            if !input.isEmpty {
                var take = input.count
                if let contentLength { take = min(take, contentLength - bodyRead) }
                body += input.prefix(take)
                bodyRead += take
                input.removeFirst(take)
                if let contentLength, bodyRead >= contentLength { ended = true }
                return true
            }
            if try !fill(deadline: deadline) {
                if contentLength != nil { throw GatewayFailure("\(endpoint): closed in the middle of the answer") }
                ended = true
                return false
            }
            return true
        }
        // Chunked: size line, data, CRLF; a zero size ends the body (trailers ignored).
        if let left = chunkLeft {
            if left > 0 {
                if input.isEmpty { guard try fill(deadline: deadline) else { throw closedEarly } }
                let take = min(left, input.count)
                body += input.prefix(take)
                input.removeFirst(take)
                chunkLeft = left - take
                return true
            }
            while input.count < 2 { guard try fill(deadline: deadline) else { throw closedEarly } }
            input.removeFirst(2)
            chunkLeft = nil
            return true
        }
        while GatewayConnection.find([13, 10], in: input) == nil { guard try fill(deadline: deadline) else { throw closedEarly } }
        let lineEnd = GatewayConnection.find([13, 10], in: input) ?? 0
        let sizeText = String(decoding: input[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
        input.removeFirst(lineEnd + 2)
        guard let size = Int(sizeText.trimmingCharacters(in: " "), radix: 16), size >= 0 else {
            throw GatewayFailure("\(endpoint): bad chunk size")
        }
        if size == 0 {
            ended = true
            return false
        }
        chunkLeft = size
        return true
    }

    private var closedEarly: GatewayFailure { GatewayFailure("\(endpoint): closed in the middle of the answer") }

    /// Reads what the socket has; false at the end of the stream.
    private func fill(deadline: UInt64) throws(GatewayFailure) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16384)
        let n: Int
        do {
            n = try BlockingSocket.readSome(fd, into: &chunk, deadline: deadline)
        } catch {
            if error == .timedOut { throw GatewayFailure("\(endpoint): no answer in time", timedOut: true) }
            throw GatewayFailure("\(endpoint): \(error)")
        }
        if n == 0 { return false }
        input += chunk[0..<n]
        return true
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = 0
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// Where the first top-level JSON object of `bytes` ends (one past its closing brace), counting
    /// braces outside strings; nil while it is incomplete. Bytes before the object (newlines) are
    /// part of what is returned.
    static func objectEnd(in bytes: [UInt8]) -> Int? {
        var depth = 0
        var inString = false
        var escaped = false
        var started = false
        for (i, byte) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"):
                depth += 1
                started = true
            case UInt8(ascii: "}"):
                depth -= 1
                if started && depth == 0 { return i + 1 }
            default: break
            }
        }
        return nil
    }
}

/// A request to one endpoint that did not complete.
struct GatewayFailure: Error, CustomStringConvertible {
    var description: String
    var timedOut = false
    init(_ description: String, timedOut: Bool = false) {
        self.description = description
        self.timedOut = timedOut
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

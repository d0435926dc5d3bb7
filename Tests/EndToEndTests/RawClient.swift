import Foundation
import Glibc

/// A client on a plain POSIX socket, for what curl will not send (malformed requests, pipelining,
/// half-closes, upgrades). Reads wait with poll(2) up to `timeout` and then fail: a test never
/// hangs on a proxy that stays silent. The waiting happens on a thread of its own (`offPool`),
/// so tests running in parallel do not starve each other of the few cooperative threads.
///
/// `@unchecked Sendable`: a test uses its client from one task at a time.
final class RawClient: @unchecked Sendable {
    let fd: Int32
    let timeout: Duration
    /// Received and not yet consumed.
    private(set) var buffer: [UInt8] = []
    private(set) var sawEOF = false
    /// The peer ended the connection with an RST rather than a FIN.
    private(set) var sawReset = false

    init(port: UInt16, timeout: Duration = .seconds(10)) throws {
        self.timeout = timeout
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket", code: errno) }
        var address = Ports.loopback(port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw SocketError(call: "connect to 127.0.0.1:\(port)", code: code)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SocketError(call: "send", code: errno)
            }
            offset += n
        }
    }

    /// Sends FIN: the peer reads EOF, this side can still read.
    func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    // MARK: the waiting operations

    /// Sends `bytes` while taking in whatever arrives meanwhile, for peers that answer as they
    /// read (echo servers): a plain blocking send could fill every buffer on the way and stall.
    func sendWhileReading(_ bytes: [UInt8]) async throws {
        try await offPool { try self.sendWhileReadingBlocking(bytes) }
    }

    /// Takes `count` bytes, waiting for them; throws if the connection ends first.
    func read(exactly count: Int) async throws -> [UInt8] {
        try await offPool { try self.readBlocking(exactly: count) }
    }

    /// Takes everything up to the peer's EOF.
    func readToEnd() async throws -> [UInt8] {
        try await offPool { try self.readToEndBlocking() }
    }

    /// Whether the peer closes the connection without sending anything more: true at EOF or RST
    /// with nothing unread; false if bytes arrive instead. Throws if neither happens in time.
    func closesWithoutMoreData() async throws -> Bool {
        try await offPool { try self.closesWithoutMoreDataBlocking() }
    }

    /// When the peer closed without sending more (nil: it sent something), read on the thread
    /// that saw it: a test process busy with other tests adds nothing to the moment.
    func closeInstant() async throws -> ContinuousClock.Instant? {
        try await offPool { try self.closesWithoutMoreDataBlocking() ? ContinuousClock.now : nil }
    }

    /// Reads one whole response: the head, then the body as its framing says (none after HEAD
    /// and for 1xx, 204 and 304; Content-Length; chunked; else up to EOF).
    func readResponse(toHEAD: Bool = false) async throws -> HTTPResponse {
        try await offPool { try self.readResponseBlocking(toHEAD: toHEAD) }
    }

    // MARK: reading

    private func deadline() -> ContinuousClock.Instant { .now.advanced(by: timeout) }

    /// Reads what arrives next into `buffer`; returns false at EOF (or RST). Throws on timeout.
    @discardableResult
    private func fill(until deadline: ContinuousClock.Instant) throws -> Bool {
        guard !sawEOF else { return false }
        while true {
            let left = deadline - .now
            guard left > .zero else { throw WaitTimeout(what: "data from the peer", timeout: timeout) }
            let (seconds, attoseconds) = left.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw SocketError(call: "poll", code: errno)
            }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n == 0 {
                sawEOF = true
                return false
            }
            if errno == EINTR || errno == EAGAIN { continue }
            if errno == ECONNRESET {
                sawEOF = true
                sawReset = true
                return false
            }
            throw SocketError(call: "recv", code: errno)
        }
    }

    private func sendWhileReadingBlocking(_ bytes: [UInt8]) throws {
        let end = deadline()
        var offset = 0
        while offset < bytes.count {
            guard ContinuousClock.now < end else { throw WaitTimeout(what: "the peer to take our bytes", timeout: timeout) }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT), revents: 0)
            guard poll(&descriptor, 1, 100) >= 0 || errno == EINTR else { throw SocketError(call: "poll", code: errno) }
            if descriptor.revents & Int16(POLLIN) != 0 && !sawEOF {
                try fill(until: end)
            }
            if descriptor.revents & Int16(POLLOUT) != 0 {
                let n = bytes[offset...].withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress, min($0.count, 65536), Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                }
                if n > 0 {
                    offset += n
                } else if n < 0 && errno != EAGAIN && errno != EINTR {
                    throw SocketError(call: "send", code: errno)
                }
            }
        }
    }

    private func readBlocking(exactly count: Int) throws -> [UInt8] {
        let end = deadline()
        while buffer.count < count {
            guard try fill(until: end) else {
                throw ChildFailure("connection closed after \(buffer.count) of \(count) bytes: \(String(decoding: buffer, as: UTF8.self))")
            }
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer[0..<count])
    }

    private func readToEndBlocking() throws -> [UInt8] {
        let end = deadline()
        while try fill(until: end) {}
        defer { buffer.removeAll() }
        return buffer
    }

    private func closesWithoutMoreDataBlocking() throws -> Bool {
        let end = deadline()
        if !buffer.isEmpty { return false }
        return try !fill(until: end) && buffer.isEmpty
    }

    private func takeLine(until end: ContinuousClock.Instant) throws -> String {
        while true {
            if let index = findCRLF(from: 0) {
                let line = String(decoding: buffer[0..<index], as: UTF8.self)
                buffer.removeFirst(index + 2)
                return line
            }
            guard try fill(until: end) else {
                throw ChildFailure("connection closed in the middle of a line: \(String(decoding: buffer, as: UTF8.self))")
            }
        }
    }

    private func findCRLF(from start: Int) -> Int? {
        var i = start
        while i + 1 < buffer.count {
            if buffer[i] == 13 && buffer[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    private func readResponseBlocking(toHEAD: Bool) throws -> HTTPResponse {
        let end = deadline()
        if buffer.isEmpty, try !fill(until: end) {
            throw ChildFailure("connection closed (\(sawReset ? "reset" : "EOF")) before any response")
        }
        let statusLine = try takeLine(until: end)
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw ChildFailure("not a status line: \(statusLine)")
        }
        var response = HTTPResponse(version: String(parts[0]), status: status,
                                    reason: parts.count > 2 ? String(parts[2]) : "")
        while true {
            let line = try takeLine(until: end)
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw ChildFailure("bad header line: \(line)") }
            response.headers.append((String(line[..<colon]),
                                     line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        if toHEAD || (100..<200).contains(status) || status == 204 || status == 304 {
            return response
        }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while true {
                let sizeLine = try takeLine(until: end)
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw ChildFailure("bad chunk size line: \(sizeLine)")
                }
                if size == 0 {
                    while try !takeLine(until: end).isEmpty {}
                    break
                }
                response.body += try readBlocking(exactly: size)
                guard try readBlocking(exactly: 2) == [13, 10] else { throw ChildFailure("chunk data not followed by CRLF") }
            }
        } else if let length = response.header("Content-Length").flatMap(Int.init) {
            response.body = try readBlocking(exactly: length)
        } else {
            response.body = try readToEndBlocking()
        }
        return response
    }
}

/// A response as a raw client received it.
struct HTTPResponse {
    var version: String
    var status: Int
    var reason: String
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []

    /// The first field with this name (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every field with this name, in order.
    func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// `Connection: close` is among the Connection options.
    var announcesClose: Bool {
        values("Connection").contains { $0.lowercased().split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "close" } }
    }
}

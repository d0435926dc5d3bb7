import EventLoop
import Foundation
import HTTP1

/// A tiny HTTP/1.1 server for `cutover demo`: it answers every request with its name ("blue"),
/// keeps connections alive, and needs nothing installed. Blocking threads: it is a demo, not the
/// data plane.
public final class DemoBackend: @unchecked Sendable {
    public let name: String
    public let address: SocketAddress
    private let fd: Int32

    public init(name: String, address: SocketAddress) throws(SyscallError) {
        self.name = name
        self.address = address
        fd = try Socket.listen(on: address, backlog: 128, reusePort: false)
        _ = fcntl(fd, F_SETFL, 0)  // blocking accept: one thread waits on it
    }

    public func start() {
        let fd = self.fd
        let name = self.name
        _ = LoopThread(name: "demo-\(name)") {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { continue }
                _ = LoopThread(name: "demo-conn") { DemoBackend.serve(client, name: name) }
            }
        }
    }

    private static func serve(_ fd: Int32, name: String) {
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var filled = 0
        var head = RequestHead()
        let body = Array("\(name)\n".utf8)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n <= 0 { return }
            filled += n
            while filled > 0 {
                let result = buffer.withUnsafeBytes { raw -> Result<HeadParseResult, HTTPParseError> in
                    do throws(HTTPParseError) { return .success(try parseRequestHead(UnsafeRawBufferPointer(rebasing: raw[0..<filled]), limits: ParseLimits(), into: &head)) }
                    catch { return .failure(error) }
                }
                guard case .success(.complete) = result else {
                    if case .failure = result { return }
                    break
                }
                var consumed = head.headLength
                if case .contentLength(let length) = head.framing { consumed += Int(length) }
                guard consumed <= filled else { break }  // the demo reads small bodies whole
                buffer.removeSubrange(0..<consumed)
                buffer.append(contentsOf: repeatElement(0, count: consumed))
                filled -= consumed
                let close = head.wantsClose
                var response = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.count)\r\nX-Served-By: \(name)\r\n".utf8)
                if close { response += Array("Connection: close\r\n".utf8) }
                response += Array("\r\n".utf8)
                if !head.isHEAD { response += body }
                let sent = response.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent < 0 || close { return }
            }
        }
    }
}

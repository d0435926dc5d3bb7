import EventLoop
import Foundation
import TLS

/// The smoke test through a listener with `tls:`: the same GET inside a TLS session. The
/// certificate is not verified (the probe talks to this proxy's own listener over loopback, and
/// the certificate names the public site), and no SNI is sent, so the default certificate answers.
extension SmokeProbe {
    static func exchangeTLS(_ fd: Int32, request: [UInt8], host: String, deadline: UInt64) throws(Failure) -> [UInt8] {
        let tls: TLSConnection
        do {
            tls = try TLSConnection(client: try TLSClientContext(verify: false, caPEM: nil, caFile: nil), serverName: "127.0.0.1")
        } catch {
            throw Failure(description: "cannot set up TLS: \(error)")
        }
        var inbox: [UInt8] = []
        var room = [UInt8](repeating: 0, count: 17 * 1024)
        while true {
            let step = inbox.withUnsafeBytes { input in room.withUnsafeMutableBytes { tls.handshake(input: input, output: $0) } }
            inbox.removeFirst(step.consumed)
            try sendAll(fd, room[0..<step.produced], host: host, deadline: deadline)
            switch step.status {
            case .ok: break
            case .wantOutput: continue
            case .wantInput:
                guard let more = receiveSome(fd, deadline: deadline) else {
                    throw Failure(description: "the TLS handshake with \(host) did not complete")
                }
                inbox += more
                continue
            case .closed, .failed:
                throw Failure(description: "the TLS handshake with \(host) failed: \(tls.failure ?? "closed")")
            }
            break
        }
        var offset = 0
        while offset < request.count {
            let step = request[offset...].withUnsafeBytes { plain in room.withUnsafeMutableBytes { tls.write(plain, output: $0) } }
            try sendAll(fd, room[0..<step.produced], host: host, deadline: deadline)
            offset += step.count
            if step.status != .ok && step.status != .wantOutput { throw Failure(description: "TLS write to \(host) failed") }
        }
        // The answer: as in the plain case, the head and a snippet, or what came before the close.
        var answer: [UInt8] = []
        var plain = [UInt8](repeating: 0, count: 16384)
        var until = deadline
        while answer.count < 65536 {
            let step = inbox.withUnsafeBytes { input in
                room.withUnsafeMutableBytes { out in plain.withUnsafeMutableBytes { tls.read(input: input, output: out, into: $0) } }
            }
            inbox.removeFirst(step.consumed)
            answer += plain[0..<step.count]
            if let end = answer.firstRange(of: [13, 10, 13, 10] as [UInt8])?.upperBound {
                if answer.count - end >= 256 { break }
                until = min(until, MonotonicClock.now() &+ 500_000_000)
            }
            if step.status == .ok { continue }
            guard step.status == .wantInput, let more = receiveSome(fd, deadline: until) else { break }
            inbox += more
        }
        return answer
    }

    /// The next bytes the socket has before `deadline`; nil at EOF, error or timeout.
    private static func receiveSome(_ fd: Int32, deadline: UInt64) -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 16384)
        let n = (try? BlockingSocket.readSome(fd, into: &chunk, deadline: deadline)) ?? 0
        return n > 0 ? Array(chunk[0..<n]) : nil
    }
}

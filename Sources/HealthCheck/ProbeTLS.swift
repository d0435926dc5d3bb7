import EventLoop
import TLS

/// TLS inside one health probe: the handshake, the request sealed and sent, the response opened.
/// Ciphertext waits in two small arrays (a probe is rare and short; the data plane's channel is
/// the one built for volume). Confined to the checker thread.
final class ProbeTLS {
    enum Step { case done, pending, failed }

    private let connection: TLSConnection
    /// Received, not yet taken by TLS.
    private var inbox: [UInt8] = []
    /// Given by TLS, not yet sent (from `sent` on).
    private var outbox: [UInt8] = []
    private var sent = 0

    init?(_ settings: HealthTLS) {
        guard let connection = try? TLSConnection(client: settings.context, serverName: settings.serverName) else {
            return nil
        }
        self.connection = connection
    }

    /// Advances the handshake as far as the socket allows; a certificate that does not verify fails.
    func handshake(_ fd: Int32, io: HealthProbeIO) -> Step {
        while true {
            let progress = inbox.withUnsafeBytes { connection.handshake(input: $0, output: io.tlsScratch) }
            inbox.removeFirst(progress.consumed)
            outbox.append(contentsOf: io.tlsScratch[..<progress.produced])
            let flushed = flush(fd)
            if flushed == .failed { return .failed }
            switch progress.status {
            case .ok:
                return .done
            case .wantInput:
                switch fill(fd, io: io) {
                case .done: continue
                case .pending: return .pending
                case .failed: return .failed
                }
            case .wantOutput:
                if flushed == .pending { return .pending }
            case .closed, .failed:
                return .failed
            }
        }
    }

    /// Seals `plaintext` (once) and sends it; `.pending` while the socket has not taken it all
    /// (call `flush` on writability).
    func send(_ plaintext: [UInt8], _ fd: Int32, io: HealthProbeIO) -> Step {
        var offset = 0
        while offset < plaintext.count {
            let progress = plaintext[offset...].withUnsafeBytes { connection.write($0, output: io.tlsScratch) }
            outbox.append(contentsOf: io.tlsScratch[..<progress.produced])
            offset += progress.count
            guard progress.status == .ok || progress.status == .wantOutput,
                  progress.count > 0 || progress.produced > 0 else { return .failed }
        }
        return flush(fd)
    }

    /// Sends what is waiting.
    func flush(_ fd: Int32) -> Step {
        while sent < outbox.count {
            let result: IOResult<Int>
            do {
                result = try outbox.withUnsafeBytes { all throws(SyscallError) in
                    try Socket.write(fd, from: UnsafeRawBufferPointer(rebasing: all[sent...]))
                }
            } catch {
                return .failed
            }
            guard case .processed(let count) = result else { return .pending }
            sent += count
        }
        outbox.removeAll(keepingCapacity: true)
        sent = 0
        return .done
    }

    /// Reads and decrypts all the socket has, appending the plaintext to `received`. `.done`:
    /// the peer closed; `.pending`: nothing more for now (edge-triggered: the socket is drained).
    func receive(_ fd: Int32, io: HealthProbeIO, into received: inout [UInt8]) -> Step {
        while true {
            let progress = inbox.withUnsafeBytes { input in
                connection.read(input: input, output: io.tlsScratch, into: io.scratch)
            }
            inbox.removeFirst(progress.consumed)
            outbox.append(contentsOf: io.tlsScratch[..<progress.produced])
            switch progress.status {
            case .ok:
                received.append(contentsOf: io.scratch[..<progress.count])
            case .wantInput:
                switch fill(fd, io: io) {
                case .done: continue
                case .pending: return .pending
                case .failed: return .done
                }
            case .wantOutput:
                if flush(fd) != .done { return .failed }
            case .closed:
                return .done
            case .failed:
                return .failed
            }
        }
    }

    /// One socket read into the inbox: `.done` data came, `.pending` none yet, `.failed` closed.
    private func fill(_ fd: Int32, io: HealthProbeIO) -> Step {
        let result: IOResult<Int>
        do {
            result = try Socket.read(fd, into: io.scratch)
        } catch {
            return .failed
        }
        switch result {
        case .wouldBlock: return .pending
        case .processed(0): return .failed
        case .processed(let count):
            inbox.append(contentsOf: io.scratch[..<count])
            return .done
        }
    }
}

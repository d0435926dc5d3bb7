import EventLoop
import Transport
import HTTP1

/// Bytes of one direction buffered in user space before the proxy stops reading its source.
let highWaterMark = 65536

/// The request's bytes on their way: the body from the client's buffer to the upstream's (its
/// framing checked), the upstream's handshake, writes and reads.
extension Exchange {
    /// The client's buffer has room to fill: the request body is not all read and the upstream
    /// side is not backed up.
    var wantsRequestBytes: Bool {
        !machine.requestDone && client.clientIn.isEmpty && upstreamOut.readableCount < highWaterMark
    }

    /// Moves request body bytes from the client's buffer to the upstream's, checking the framing.
    func relayRequestBody() -> Bool {
        guard !machine.requestDone, !client.clientIn.isEmpty, upstreamOut.readableCount < highWaterMark else { return false }
        let room = highWaterMark - upstreamOut.readableCount
        let available = client.clientIn.readable
        switch requestBody {
        case .remaining(let left):
            let n = Int(min(UInt64(min(available.count, room)), left))
            upstreamOut.append(UnsafeRawBufferPointer(rebasing: available[0..<n]))
            client.clientIn.consume(n)
            requestBytes += n
            requestBody = .remaining(left - UInt64(n))
            if left == UInt64(n) { machine.requestDone = true }
            return n > 0
        case .chunked(var decoder):
            let input = UnsafeRawBufferPointer(rebasing: available[0..<min(available.count, room)])
            do {
                let (consumed, finished) = try decoder.decode(input, payload: { _ in })
                upstreamOut.append(UnsafeRawBufferPointer(rebasing: input[0..<consumed]))
                client.clientIn.consume(consumed)
                requestBytes += consumed
                requestBody = .chunked(decoder)
                if finished { machine.requestDone = true }
                return consumed > 0
            } catch {
                perform(machine.malformedRequestBody())
                return true
            }
        case .untilClose:
            return false
        }
    }

    /// The upstream side's progress: handshake, send what is queued, read what came, and turn
    /// it into the client's answer. Returns whether anything moved.
    func pumpUpstream() -> Bool {
        var progress = false
        if let u = upstream, u.connected, !u.ready {
            switch u.stream.handshake() {
            case .done:
                client.lastActivity = now
                progress = true
            case .pending:
                break
            case .failed:
                upstreamFailed()
                return true
            }
        }
        if let u = upstream, u.ready, !upstreamOut.isEmpty {
            let before = upstreamOut.readableCount
            switch u.stream.write(from: &upstreamOut) {
            case .wrote:
                machine.upstreamBytesSent += before - upstreamOut.readableCount
                client.lastActivity = now
                progress = true
            case .failed:
                upstreamFailed()
                return true
            case .nothing:
                break
            }
        }
        if let u = upstream, u.ready, u.stream.mayRead, !u.peerClosed, machine.responsePhase != .done,
           client.clientOut.readableCount < highWaterMark {
            let outcome = readsStraightToClient(u) ? readBodyStraightToClient(u) : u.stream.read(into: &u.input)
            switch outcome {
            case .data:
                client.lastActivity = now
                progress = true
            case .endOfStream, .failed:
                u.peerClosed = true
                progress = true
            case .nothing:
                break
            }
        }
        if processResponse() { progress = true }
        return progress
    }

    /// After bytes moved: ends the exchange if its answer is complete. True if it ended.
    func settleIfDone() -> Bool {
        let decision = machine.settled()
        guard decision.action == .finish else { return false }
        perform(decision)
        return true
    }
}

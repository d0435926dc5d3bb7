import EventLoop
import Transport

/// After a 101 Switching Protocols the connection is an opaque two-way byte tunnel (WebSocket)
/// between the client and the exchange's upstream connection. Each side's EOF is passed on as a
/// half-close once its bytes are delivered. The exchange stays attached: it holds the upstream
/// connection, the in-flight claim and the drain deadline.
extension ClientConnection {
    func enterTunnel() {
        guard let exchange, let u = exchange.upstream else { return }
        exchange.record(status: 101, answeredBy: .backend)
        state = .tunnel
        tunnel = TunnelProgress()
        // Bytes the client sent after its upgrade request belong to the new protocol.
        if !clientIn.isEmpty {
            exchange.upstreamOut.append(clientIn.readable)
            clientIn.clear()
        }
        if !u.input.isEmpty {
            clientOut.append(u.input.readable)
            u.input.clear()
        }
        lastActivity = now
    }

    func stepTunnel() -> Bool {
        guard let exchange, let u = exchange.upstream else {
            closeClient()
            return false
        }
        var progress = false
        if !tunnel.clientEOF && exchange.upstreamOut.readableCount < highWaterMark {
            switch stream.read(into: &exchange.upstreamOut) {
            case .data: progress = true
            case .endOfStream, .failed: tunnel.clientEOF = true; progress = true
            case .nothing: break
            }
        }
        if !u.peerClosed && clientOut.readableCount < highWaterMark {
            switch u.stream.read(into: &clientOut) {
            case .data: progress = true
            case .endOfStream, .failed: u.peerClosed = true; progress = true
            case .nothing: break
            }
        }
        switch u.stream.write(from: &exchange.upstreamOut) {
        case .wrote: progress = true
        case .failed: closeClient(); return false
        case .nothing: break
        }
        switch stream.write(from: &clientOut) {
        case .wrote: progress = true
        case .failed: closeClient(); return false
        case .nothing: break
        }
        if progress { lastActivity = now }
        // Half-closes travel once the bytes before them are delivered (over TLS, a close_notify
        // and then the FIN).
        if tunnel.clientEOF && exchange.upstreamOut.isEmpty && !tunnel.upstreamShut {
            tunnel.upstreamShut = u.stream.finish()
        }
        if u.peerClosed && clientOut.isEmpty && !tunnel.clientShut {
            tunnel.clientShut = stream.finish()
        }
        if tunnel.upstreamShut && tunnel.clientShut {
            closeClient()
            return false
        }
        return progress
    }
}

import EventLoop

/// After a 101 Switching Protocols the connection is an opaque two-way byte tunnel (WebSocket).
/// Each side's EOF is passed on as a half-close once its bytes are delivered.
extension HTTPSession {
    func enterTunnel(_ u: UpstreamConnection) {
        endExchange(status: 101, answeredBy: .backend)
        state = .tunnel
        responseStarted = true
        // Bytes the client sent after its upgrade request belong to the new protocol.
        if !clientIn.isEmpty {
            upstreamOut.append(clientIn.readable)
            clientIn.clear()
        }
        if !u.input.isEmpty {
            clientOut.append(u.input.readable)
            u.input.clear()
        }
        lastActivity = now
    }

    func stepTunnel() -> Bool {
        guard let u = upstream else {
            closeClient()
            return false
        }
        var progress = false
        if !clientEOF && upstreamOut.readableCount < highWaterMark {
            switch readClient(into: &upstreamOut) {
            case .data: progress = true
            case .endOfStream, .failed: clientEOF = true; progress = true
            case .nothing: break
            }
        }
        if !u.peerClosed && clientOut.readableCount < highWaterMark {
            switch u.read(into: &clientOut) {
            case .data: progress = true
            case .endOfStream, .failed: u.peerClosed = true; progress = true
            case .nothing: break
            }
        }
        switch u.write(from: &upstreamOut) {
        case .wrote: progress = true
        case .failed: closeClient(); return false
        case .nothing: break
        }
        switch writeClient(from: &clientOut) {
        case .wrote: progress = true
        case .failed: closeClient(); return false
        case .nothing: break
        }
        if progress { lastActivity = now }
        // Half-closes travel once the bytes before them are delivered (over TLS, a close_notify
        // and then the FIN).
        if clientEOF && upstreamOut.isEmpty && !tunnelUpstreamShut {
            tunnelUpstreamShut = u.finishOutput()
        }
        if u.peerClosed && clientOut.isEmpty && !tunnelClientShut {
            tunnelClientShut = finishClientOutput()
        }
        if tunnelUpstreamShut && tunnelClientShut {
            closeClient()
            return false
        }
        return progress
    }
}

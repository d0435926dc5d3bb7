import EventLoop
import HTTP1
import Metrics

/// The response side of an exchange: the upstream's head is checked and rewritten for the client,
/// and the body is relayed with its framing checked (or de-chunked for an HTTP/1.0 client).
extension HTTPSession {
    /// Parses and moves everything the upstream's buffer holds (a head and the body bytes behind
    /// it go out in one write); returns whether anything moved.
    func processResponse() -> Bool {
        var progress = false
        // Only appended to here (the client is written elsewhere): its growth is the answer's.
        let queued = clientOut.readableCount
        while state == .exchanging, let u = upstream, processResponseStep(u) { progress = true }
        if state == .exchanging { responseBytes += clientOut.readableCount - queued }
        return progress
    }

    private func processResponseStep(_ u: UpstreamConnection) -> Bool {
        switch responsePhase {
        case .awaitingHead:
            if u.input.isEmpty {
                if u.peerClosed { upstreamClosedEarly() ; return true }
                return false
            }
            do {
                let limits = ParseLimits(maxHeaderBytes: max(settings.maxHeaderBytes, 65536))
                switch try parseResponseHead(u.input.readable, requestWasHEAD: request.isHEAD, limits: limits, into: &worker.responseHead) {
                case .incomplete:
                    if u.peerClosed {
                        upstreamError(.reset)
                        respond(502)
                        return true
                    }
                    return false
                case .complete:
                    response = ResponseFacts(worker.responseHead)
                    handleResponseHead(u)
                    return true
                }
            } catch {
                upstreamError(.protocol)
                respond(502)
                return true
            }
        case .body:
            return moveResponseBody(u)
        case .done:
            return false
        }
    }

    /// The upstream closed before a byte of the answer. A reused keep-alive connection that the
    /// backend closed just as we sent is the classic race, and so is a backend dying: a safe
    /// request without a body is replayed on another backend, anything else gets a 502.
    private func upstreamClosedEarly() {
        upstreamFailed()
    }

    private func handleResponseHead(_ u: UpstreamConnection) {
        let headLength = response.headLength
        if response.status == 101 {
            guard request.upgrade else {
                upstreamError(.protocol)
                respond(502)
                return
            }
            writeClientHead(from: u, keepUpgrade: true)
            u.input.consume(headLength)
            enterTunnel(u)
            return
        }
        if response.isInformational {
            // 100 Continue and friends go to the client as they are; the final head follows.
            writeClientHead(from: u, keepUpgrade: false)
            u.input.consume(headLength)
            return
        }
        dechunk = request.version == .http10 && response.framing == .chunked
        if response.framing == .untilClose || dechunk || !requestDone {
            // The client can only learn where this body ends from the close, or it is still
            // sending a body the upstream no longer reads.
            closeAfterExchange = true
        }
        writeClientHead(from: u, keepUpgrade: false)
        u.input.consume(headLength)
        responseStarted = true
        switch response.framing {
        case .none:
            responsePhase = .done
        case .contentLength(let n):
            responseBody = .remaining(n)
            responsePhase = n == 0 ? .done : .body
        case .chunked:
            responseBody = .chunked(ChunkedDecoder())
            responsePhase = .body
        case .untilClose:
            responseBody = .untilClose
            responsePhase = .body
        }
    }

    /// A body with nothing left to check (close-delimited, or by length with nothing of it
    /// buffered) is read from the upstream straight into the client's buffer: no copy.
    func readsStraightToClient(_ u: UpstreamConnection) -> Bool {
        guard responsePhase == .body, u.input.isEmpty else { return false }
        if case .chunked = responseBody { return false }
        return true
    }

    /// One read of body bytes into `clientOut`, never past the body's length. Up to 64 KiB at a
    /// time (the high-water mark): a body is written to the client in as few sends as it was
    /// read in, and a 64 KiB body in one read leaves in one send instead of four or five.
    func readBodyStraightToClient(_ u: UpstreamConnection) -> ReadOutcome {
        let before = clientOut.readableCount
        var limit = Int.max
        if case .remaining(let left) = responseBody, left < UInt64(Int.max) { limit = Int(left) }
        let room = highWaterMark - clientOut.readableCount
        let outcome = u.read(into: &clientOut, minimum: max(4096, min(room, limit)), limit: limit)
        if outcome == .data, case .untilClose = responseBody { responseBytes += clientOut.readableCount - before }
        if outcome == .data, case .remaining(let left) = responseBody {
            let n = UInt64(clientOut.readableCount - before)
            responseBytes += Int(n)
            responseBody = .remaining(left - n)
            if left == n { responsePhase = .done }
        }
        return outcome
    }

    private func writeClientHead(from u: UpstreamConnection, keepUpgrade: Bool) {
        var cookie: [UInt8] = []
        if let slot = assignCookieSlot, !response.isInformational,
           let rule = routing.table.routes[routeIndex].sticky {
            cookie = rule.setCookieLines[slot]
        }
        let bound = clientResponseHeadUpperBound(worker.responseHead) + cookie.count
        let written = cookie.withUnsafeBytes { extra in
            writeClientResponseHead(
                worker.responseHead, from: u.input.readable, closeClient: closeAfterExchange,
                clientIsHTTP10: request.version == .http10, dechunk: dechunk, keepUpgrade: keepUpgrade,
                extraFields: extra, into: clientOut.writableSpace(minimum: bound))
        }
        clientOut.didWrite(written ?? 0)
    }

    private func moveResponseBody(_ u: UpstreamConnection) -> Bool {
        guard clientOut.readableCount < highWaterMark else { return false }
        let room = highWaterMark - clientOut.readableCount
        let available = u.input.readable
        switch responseBody {
        case .remaining(let left):
            if available.isEmpty {
                if u.peerClosed {  // truncated: the client must not take it as whole
                    upstreamError(.reset)
                    abort()
                    return true
                }
                return false
            }
            let n = Int(min(UInt64(min(available.count, room)), left))
            clientOut.append(UnsafeRawBufferPointer(rebasing: available[0..<n]))
            u.input.consume(n)
            responseBody = .remaining(left - UInt64(n))
            if left == UInt64(n) { responsePhase = .done }
            return true
        case .chunked(var decoder):
            if available.isEmpty {
                if u.peerClosed {
                    upstreamError(.reset)
                    abort()
                    return true
                }
                return false
            }
            let input = UnsafeRawBufferPointer(rebasing: available[0..<min(available.count, room)])
            do {
                let consumed: Int
                let finished: Bool
                if dechunk {
                    (consumed, finished) = try decoder.decode(input, payload: { clientOut.append($0) })
                } else {
                    (consumed, finished) = try decoder.decode(input, payload: { _ in })
                    clientOut.append(UnsafeRawBufferPointer(rebasing: input[0..<consumed]))
                }
                u.input.consume(consumed)
                responseBody = .chunked(decoder)
                if finished { responsePhase = .done }
                return consumed > 0
            } catch {
                upstreamError(.protocol)
                abort()
                return true
            }
        case .untilClose:
            if !available.isEmpty {
                let n = min(available.count, room)
                clientOut.append(UnsafeRawBufferPointer(rebasing: available[0..<n]))
                u.input.consume(n)
                return true
            }
            if u.peerClosed {
                responsePhase = .done
                return true
            }
            return false
        }
    }
}

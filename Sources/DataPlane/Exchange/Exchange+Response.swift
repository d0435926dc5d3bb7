import EventLoop
import HTTP1
import Transport

/// The response side: the upstream's head is checked and rewritten for the client, and the body
/// is relayed with its framing checked (or de-chunked for an HTTP/1.0 client).
extension Exchange {
    /// Parses and moves everything the upstream's buffer holds (a head and the body bytes behind
    /// it go out in one write); returns whether anything moved.
    func processResponse() -> Bool {
        var progress = false
        // Only appended to here (the client is written elsewhere): its growth is the answer's.
        let queued = client.clientOut.readableCount
        while client.isExchanging, let u = upstream, processResponseStep(u) { progress = true }
        if client.isExchanging { responseBytes += client.clientOut.readableCount - queued }
        return progress
    }

    private func processResponseStep(_ u: UpstreamConnection) -> Bool {
        switch machine.responsePhase {
        case .awaitingHead:
            if u.input.isEmpty {
                if u.peerClosed {
                    upstreamFailed()  // closed before a byte of the answer
                    return true
                }
                return false
            }
            do {
                let limits = ParseLimits(maxHeaderBytes: max(settings.maxHeaderBytes, 65536))
                switch try parseResponseHead(u.input.readable, requestWasHEAD: request.isHEAD, limits: limits,
                                             into: &worker.responseHead) {
                case .incomplete:
                    if u.peerClosed {
                        perform(machine.closedMidHead())
                        return true
                    }
                    return false
                case .complete:
                    handleResponseHead(u)
                    return true
                }
            } catch {
                perform(machine.malformedResponseHead())
                return true
            }
        case .body:
            return moveResponseBody(u)
        case .done:
            return false
        }
    }

    private func handleResponseHead(_ u: UpstreamConnection) {
        let head = ResponseFacts(worker.responseHead)
        let decision = machine.responseHead(status: head.status, framing: head.framing, wantsClose: head.wantsClose,
                                            requestAskedUpgrade: request.upgrade,
                                            clientIsHTTP10: request.version == .http10,
                                            payloadOnly: client.wantsPayloadOnly)
        switch decision.action {
        case .tunnel:
            response = head
            writeClientHead(from: u, keepUpgrade: true, informational: true)
            u.input.consume(head.headLength)
            client.enterTunnel()
        case .forwardInterim:
            writeClientHead(from: u, keepUpgrade: false, informational: true)
            u.input.consume(head.headLength)
        case .forwardFinal:
            response = head
            writeClientHead(from: u, keepUpgrade: false, informational: false)
            u.input.consume(head.headLength)
            switch head.framing {
            case .none, .contentLength(0): break
            case .contentLength(let n): responseBody = .remaining(n)
            case .chunked: responseBody = .chunked(ChunkedDecoder())
            case .untilClose: responseBody = .untilClose
            }
        default:
            perform(decision)
        }
    }

    /// A body with nothing left to check (close-delimited, or by length with nothing of it
    /// buffered) is read from the upstream straight into the client's buffer: no copy.
    func readsStraightToClient(_ u: UpstreamConnection) -> Bool {
        guard machine.responsePhase == .body, u.input.isEmpty else { return false }
        if case .chunked = responseBody { return false }
        return true
    }

    /// One read of body bytes into the client's buffer, never past the body's length. Up to
    /// 64 KiB at a time (the high-water mark): a body is written to the client in as few sends as
    /// it was read in, and a 64 KiB body in one read leaves in one send instead of four or five.
    func readBodyStraightToClient(_ u: UpstreamConnection) -> ReadOutcome {
        let before = client.clientOut.readableCount
        var limit = Int.max
        if case .remaining(let left) = responseBody, left < UInt64(Int.max) { limit = Int(left) }
        let room = highWaterMark - client.clientOut.readableCount
        let outcome = u.stream.read(into: &client.clientOut, minimum: max(4096, min(room, limit)), limit: limit)
        if outcome == .data, case .untilClose = responseBody { responseBytes += client.clientOut.readableCount - before }
        if outcome == .data, case .remaining(let left) = responseBody {
            let n = UInt64(client.clientOut.readableCount - before)
            responseBytes += Int(n)
            responseBody = .remaining(left - n)
            if left == n { machine.responsePhase = .done }
        }
        return outcome
    }

    /// The final head gets the sticky Set-Cookie and the route's and rule's response edits; an
    /// interim head (1xx, 101) goes as the backend sent it.
    private func writeClientHead(from u: UpstreamConnection, keepUpgrade: Bool, informational: Bool) {
        worker.clearExtraLines()
        if !informational, let route {
            let table = routing.table
            let spec = table.routes[route]
            if let slot = assignCookieSlot, let sticky = spec.sticky {
                worker.extraLines.append(contentsOf: sticky.setCookieLines[slot])
            }
            let source = u.input.readable
            if !spec.responseEdits.isEmpty {
                let poolName = pool.map { table.pools[$0].hostBytes } ?? []
                spec.responseEdits.drop(from: &worker.responseHead.fields, source: source)
                spec.responseEdits.append(route: spec.nameBytes, pool: poolName, to: &worker.extraLines)
            }
            if let rule, !client.listener.rules.rules[rule].responseEdits.isEmpty {
                let poolName = pool.map { table.pools[$0].hostBytes } ?? []
                let edits = client.listener.rules.rules[rule].responseEdits
                edits.drop(from: &worker.responseHead.fields, source: source)
                edits.append(route: spec.nameBytes, pool: poolName, to: &worker.extraLines)
            }
        }
        let bound = clientResponseHeadUpperBound(worker.responseHead) + worker.extraLines.count
        let written = worker.extraLines.withUnsafeBytes { extra in
            writeClientResponseHead(
                worker.responseHead, from: u.input.readable, closeClient: machine.closeAfter,
                clientIsHTTP10: request.version == .http10, dechunk: machine.dechunk, keepUpgrade: keepUpgrade,
                extraFields: extra, into: client.clientOut.writableSpace(minimum: bound))
        }
        client.clientOut.didWrite(written ?? 0)
    }

    private func moveResponseBody(_ u: UpstreamConnection) -> Bool {
        guard client.clientOut.readableCount < highWaterMark else { return false }
        let room = highWaterMark - client.clientOut.readableCount
        let available = u.input.readable
        switch responseBody {
        case .remaining(let left):
            if available.isEmpty {
                if u.peerClosed {
                    perform(machine.bodyTruncated())
                    return true
                }
                return false
            }
            let n = Int(min(UInt64(min(available.count, room)), left))
            client.clientOut.append(UnsafeRawBufferPointer(rebasing: available[0..<n]))
            u.input.consume(n)
            responseBody = .remaining(left - UInt64(n))
            if left == UInt64(n) { machine.responsePhase = .done }
            return true
        case .chunked(var decoder):
            if available.isEmpty {
                if u.peerClosed {
                    perform(machine.bodyTruncated())
                    return true
                }
                return false
            }
            let input = UnsafeRawBufferPointer(rebasing: available[0..<min(available.count, room)])
            do {
                let consumed: Int
                let finished: Bool
                if machine.dechunk {
                    (consumed, finished) = try decoder.decode(input, payload: { client.clientOut.append($0) })
                } else {
                    (consumed, finished) = try decoder.decode(input, payload: { _ in })
                    client.clientOut.append(UnsafeRawBufferPointer(rebasing: input[0..<consumed]))
                }
                u.input.consume(consumed)
                responseBody = .chunked(decoder)
                if finished { machine.responsePhase = .done }
                return consumed > 0
            } catch {
                perform(machine.malformedBody())
                return true
            }
        case .untilClose:
            if !available.isEmpty {
                let n = min(available.count, room)
                client.clientOut.append(UnsafeRawBufferPointer(rebasing: available[0..<n]))
                u.input.consume(n)
                return true
            }
            if u.peerClosed {
                machine.responsePhase = .done
                return true
            }
            return false
        }
    }
}

import Balancer
import EventLoop
import HTTP1
import Metrics
import TLS

/// The request side of an exchange: routing, the rewritten head, the request body and the
/// upstream connection (reused from the idle pool, or connected, with retries while nothing of
/// the request has been sent).
extension HTTPSession {
    func startExchange() {
        let headLength = request.headLength
        captureForAccessLog()
        headStarted = 0
        closeAfterExchange = request.wantsClose || shutdownPending || worker.answersClose
        switch request.framing {
        case .none, .untilClose:
            requestBody = .remaining(0)
            requestDone = true
        case .contentLength(let n):
            requestBody = .remaining(n)
            requestDone = n == 0
        case .chunked:
            requestBody = .chunked(ChunkedDecoder())
            requestDone = false
        }
        responsePhase = .awaitingHead
        responseStarted = false
        upstreamBytesSent = 0
        tried = TriedSet()
        attempts = 0
        drainDeadline = .max
        state = .exchanging
        lastActivity = now
        // The exchange keeps the snapshot it was routed under, even if a reload lands meanwhile.
        routing = worker.routing
        routeIndex = listener.routeIndex ?? -1
        poolIndex = -1
        beginExchangeAccounting(headLength: headLength)

        if request.isCONNECT {
            // A reverse proxy does not open tunnels to arbitrary hosts.
            clientIn.consume(headLength)
            respond(501)
            return
        }
        guard let route = listener.routeIndex,
              let choice = routing.choosePool(route: route, head: &worker.requestHead,
                                                      source: clientIn.readable, peer: peer) else {
            clientIn.consume(headLength)
            respond(503)
            return
        }
        poolIndex = choice.pool
        assignCookieSlot = choice.assignCookieSlot
        writeUpstreamHead()
        replayLength = request.replayable ? upstreamOut.readableCount : 0
        clientIn.consume(headLength)
        connectUpstream()
    }

    private func writeUpstreamHead() {
        let ipLength = peer.writeIP(into: worker.addressScratch)
        let ip = UnsafeRawBufferPointer(rebasing: worker.addressScratch[0..<ipLength])
        let proto: StaticString = listener.spec.forwardedProto == .https ? "https" : "http"
        // An HTTP/1.0 request may lack Host; the upstream request is HTTP/1.1 and needs one. The
        // pool's name stands in, as nginx sends its upstream's name.
        let poolName = routing.table.pools[poolIndex].hostBytes
        let bound = upstreamRequestHeadUpperBound(worker.requestHead, clientAddressCount: ipLength + poolName.count)
        let written = poolName.withUnsafeBytes { host in
            writeUpstreamRequestHead(
                worker.requestHead, from: clientIn.readable, clientAddress: ip, forwardedProto: proto,
                keepUpgrade: request.upgrade, fallbackHost: host, into: upstreamOut.writableSpace(minimum: bound))
        }
        // The upper bound is exact enough that the write cannot run out of room.
        upstreamOut.didWrite(written ?? 0)
    }

    /// Gets an upstream connection to a backend of the chosen pool that this request has not tried:
    /// an idle one if the worker has it, else a new non-blocking connect.
    func connectUpstream() {
        let pool = routing.table.pools[poolIndex]
        while attempts < HTTPSession.maxAttempts {
            guard let backend = routing.pickBackend(pool: poolIndex, excluding: tried) else { break }
            tried.insert(backend)
            attempts += 1
            exchangeBackend = backend
            upstreamStartedAt = now
            claim = InFlightClaim(routing: routing, pool: poolIndex, backend: backend, worker: worker)
            let address = pool.backends[backend].address
            let key = IdleKey(address: address, tlsProfile: pool.tls?.profile ?? 0)
            if let idle = worker.idlePool.take(for: key) {
                idle.writable = true
                worker.own(idle.fd, as: .upstream(self))
                upstream = idle
                return
            }
            var secure: SecureChannel?
            if let tls = pool.tls {
                guard let connection = try? TLSConnection(client: tls.context, serverName: pool.backends[backend].serverName) else {
                    releaseInFlight()
                    continue
                }
                secure = SecureChannel(connection, pool: worker.bufferPool)
            }
            let opened: (fd: Int32, generation: UInt32, connected: Bool)
            switch worker.openUpstream(to: address, as: .upstream(self)) {
            case .success(let result):
                opened = result
            case .failure(.localShortage):
                releaseInFlight()
                respond(503)  // out of descriptors here: not the backend's failure, no retry
                return
            case .failure(.refused):
                releaseInFlight()
                upstreamError(.connect)
                continue  // refused at once (common on loopback): the next backend
            }
            upstream = UpstreamConnection(worker: worker, backendID: pool.backends[backend].id, fd: opened.fd,
                                          generation: opened.generation, key: key, secure: secure,
                                          connected: opened.connected)
            lastActivity = now
            return
        }
        respond(tried.isEmpty ? 503 : 502)
    }

    /// The upstream connection failed. Retried elsewhere only if not one byte of the request left
    /// and no answer has started; otherwise the client gets a 502 (or a cut, mid-response).
    /// A TLS handshake that fails (a certificate that does not verify) counts as a failed connect.
    func upstreamFailed() {
        if let u = upstream { upstreamError(u.ready ? .reset : .connect) }
        dropUpstream()
        releaseInFlight()
        guard !responseStarted && responsePhase == .awaitingHead else {
            respond(502)
            return
        }
        if upstreamBytesSent == 0 {
            connectUpstream()
        } else if replayLength > 0 {
            // A safe request without a body, and not one byte of answer: whatever the dead
            // backend did with it, doing it again elsewhere is harmless (as nginx retries).
            upstreamOut.rewind(toWritten: replayLength)
            upstreamBytesSent = 0
            connectUpstream()
        } else {
            respond(502)
        }
    }

    func stepExchange() -> Bool {
        var progress = false
        if !requestDone {
            if moveRequestBody() { progress = true }
            guard state == .exchanging else { return true }
            if !requestDone && clientIn.isEmpty && upstreamOut.readableCount < highWaterMark {
                switch readClient(into: &clientIn) {
                case .data:
                    lastActivity = now
                    progress = true
                case .endOfStream, .failed:
                    abort()  // the client left mid-request: the upstream must not see half of it
                    return false
                case .nothing:
                    break
                }
            }
        }
        if let u = upstream, u.connected, !u.ready {
            switch u.handshake() {
            case .done:
                lastActivity = now
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
            switch u.write(from: &upstreamOut) {
            case .wrote:
                upstreamBytesSent += before - upstreamOut.readableCount
                lastActivity = now
                progress = true
            case .failed:
                upstreamFailed()
                return true
            case .nothing:
                break
            }
        }
        if let u = upstream, u.ready, u.mayRead, !u.peerClosed, responsePhase != .done,
           clientOut.readableCount < highWaterMark {
            let outcome = readsStraightToClient(u) ? readBodyStraightToClient(u) : u.read(into: &u.input)
            switch outcome {
            case .data:
                lastActivity = now
                progress = true
            case .endOfStream, .failed:
                u.peerClosed = true
                progress = true
            case .nothing:
                break
            }
        }
        if processResponse() { progress = true }
        guard state == .exchanging else { return true }
        switch writeClient(from: &clientOut) {
        case .wrote:
            lastActivity = now
            progress = true
        case .failed:
            abort()
            return false
        case .nothing:
            break
        }
        // An answer that ended before the request body did (an early 413, say) ends the exchange
        // too: the client connection closes after it, so the rest of the body needs no reading.
        if responsePhase == .done && (requestDone || closeAfterExchange) {
            finishExchange()
            return true
        }
        return progress
    }

    /// Moves request body bytes from the client's buffer to the upstream's, checking the framing.
    private func moveRequestBody() -> Bool {
        guard !clientIn.isEmpty, upstreamOut.readableCount < highWaterMark else { return false }
        let room = highWaterMark - upstreamOut.readableCount
        let available = clientIn.readable
        switch requestBody {
        case .remaining(let left):
            let n = Int(min(UInt64(min(available.count, room)), left))
            upstreamOut.append(UnsafeRawBufferPointer(rebasing: available[0..<n]))
            clientIn.consume(n)
            requestBytes += n
            requestBody = .remaining(left - UInt64(n))
            if left == UInt64(n) { requestDone = true }
            return n > 0
        case .chunked(var decoder):
            let input = UnsafeRawBufferPointer(rebasing: available[0..<min(available.count, room)])
            do {
                let (consumed, finished) = try decoder.decode(input, payload: { _ in })
                upstreamOut.append(UnsafeRawBufferPointer(rebasing: input[0..<consumed]))
                clientIn.consume(consumed)
                requestBytes += consumed
                requestBody = .chunked(decoder)
                if finished { requestDone = true }
                return consumed > 0
            } catch {
                respond(400)
                return true
            }
        case .untilClose:
            return false
        }
    }

    /// Ends an exchange: the upstream connection goes back to the idle pool if the exchange ended
    /// cleanly, and the client connection waits for its next request (or closes).
    func finishExchange() {
        endExchange(status: response.status, answeredBy: .backend)
        if let u = upstream {
            upstream = nil
            let reusable = requestDone && !worker.isRemoved(backendID: u.backendID) && !u.peerClosed && !u.sawHangup && response.framing != .untilClose && !response.wantsClose
                && upstreamOut.isEmpty && u.isQuiet && !worker.isStopping
            if reusable {
                u.input.releaseIfEmpty()
                u.idleDeadline = now &+ settings.idleTimeout
                if worker.idlePool.put(u, limit: settings.maxIdleUpstreamsPerBackend) {
                    worker.own(u.fd, as: .idleUpstream(u))
                    if !u.timerQueued {
                        u.timerQueued = true
                        worker.loop.schedule(deadline: u.idleDeadline, token: worker.timerToken(fd: u.fd, generation: u.generation))
                    }
                } else {
                    worker.close(u.fd)
                }
            } else {
                worker.close(u.fd)
            }
        }
        releaseInFlight()
        servedRequests += 1
        upstreamOut.clear()
        upstreamOut.releaseIfEmpty()
        lastActivity = now
        state = closeAfterExchange ? .closing : .readingHead
    }
}

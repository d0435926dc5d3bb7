import EventLoop
import Transport

/// A connection's deadlines, its shutdown and its end: lingering after our FIN, closing, cutting.
extension ClientConnection {
    // MARK: timers

    private var deadline: UInt64 {
        switch state {
        case .handshaking:
            return lastActivity &+ settings.clientHeaderTimeout
        case .readingHead:
            if !clientIn.isEmpty { return (headStarted ?? lastActivity) &+ settings.clientHeaderTimeout }
            let idle = lastActivity &+ (servedRequests == 0 ? settings.clientHeaderTimeout : settings.idleTimeout)
            return shutdownPending && servedRequests > 0 ? min(idle, shutdownIdleUntil) : idle
        case .exchanging:
            return exchange?.deadline(lastActivity: lastActivity) ?? lastActivity &+ settings.upstreamResponseTimeout
        case .tunnel:
            return min(lastActivity &+ settings.idleTimeout, exchange?.machine.drainDeadline ?? .max)
        case .closing:
            return lastActivity &+ 5_000_000_000
        case .lingering:
            return lingerDeadline
        case .closed:
            return .max
        }
    }

    func ensureTimer() {
        queuedDeadline.ensure(deadline, worker: worker, fd: fd, generation: generation)
    }

    func timerFired() {
        queuedDeadline.fired(now: now)
        guard state != .closed else { return }
        if deadline > now {
            ensureTimer()
            return
        }
        switch state {
        case .handshaking:
            closeClient()  // a stalled handshake costs its connection, nothing else
        case .readingHead:
            if clientIn.isEmpty && shutdownPending && servedRequests > 0 {
                beginLingering(for: 500_000_000)  // stopping: no request came within the grace
            } else if clientIn.isEmpty {
                // An idle keep-alive connection: over TLS it gets a close_notify (best effort).
                stream.sendCloseNotify()
                closeClient()
            } else {
                answer(408)
            }
        case .exchanging:
            exchange?.timedOut()
        case .tunnel where now >= (exchange?.machine.drainDeadline ?? .max):
            cut()  // the deregistration delay is over: nothing may stay on the removed backend
        case .tunnel, .closing, .lingering:
            closeClient()
        case .closed:
            return
        }
        drive()
    }

    // MARK: shutting down

    /// A reload removed the backend this exchange or tunnel uses: it may last until `deadline`.
    func drain(until deadline: UInt64) {
        exchange?.drain(until: deadline)
        ensureTimer()
    }

    /// The worker is stopping: idle keep-alive connections close now, busy ones after this exchange.
    func shutdownRequested() {
        shutdownPending = true
        exchange?.machine.closeAfter = true
        shutdownIdleUntil = now &+ ClientConnection.shutdownIdleGrace
        // A connection that has not sent its first request yet (accepted just now, from the
        // listen queue) is served once: its client did nothing wrong.
        // An idle keep-alive connection reads once more (a request may already sit in the socket:
        // it is served, with Connection: close), waits `shutdownIdleGrace` for one that may be on
        // its way, then lingers out.
        if state == .readingHead && clientIn.isEmpty && !clientOutputPending && servedRequests > 0 {
            stream.assumeReadable()
            drive()
        }
    }

    /// Flushes what is queued for the client (an error answer, the end of a close-delimited body),
    /// then closes.
    func stepClosing() -> Bool {
        switch stream.write(from: &clientOut) {
        case .wrote:
            lastActivity = now
            return true
        case .failed:
            closeClient()
            return false
        case .nothing:
            if !clientOutputPending {
                beginLingering()
                return true
            }
            return false
        }
    }

    /// Sends our FIN and drops whatever the client still sends until it closes: closing with
    /// unread bytes would make the kernel answer with an RST, which can destroy the answer we
    /// just sent before the client reads it.
    /// Up to 2 s after an answer that closes the connection (a client may still be sending a
    /// body); 500 ms for an idle connection closed by a stop, which must not hold the exit up.
    func beginLingering(for duration: UInt64 = 2_000_000_000) {
        releaseExchange()
        finSent = stream.finish()
        state = .lingering
        lingerDeadline = now &+ duration
        stream.assumeReadable()
    }

    /// Sends the FIN once TLS's close_notify is out, and drops what the client sends (raw: over
    /// TLS nothing is decrypted any more).
    func stepLingering() -> Bool {
        if !finSent {
            finSent = stream.finish()
            if !finSent && !stream.readable { return false }
        }
        switch stream.readRaw(into: &clientIn) {
        case .data:
            clientIn.clear()
            return true
        case .endOfStream, .failed:
            closeClient()
            return false
        case .nothing:
            clientIn.releaseIfEmpty()
            return false
        }
    }

    func closeClient() {
        guard state != .closed else { return }
        releaseExchange()
        state = .closed
        worker.close(fd)
        worker.connectionClosed(listener)
    }

    /// The stop deadline passed: an exchange or tunnel still running is cut (RST); a connection
    /// between requests, lingering or flushing its last answer just closes.
    func stopNow() {
        switch state {
        case .exchanging, .tunnel: cut()
        case .handshaking, .readingHead, .closing, .lingering: closeClient()
        case .closed: break
        }
    }

    /// Cuts the connection short (RST), as when a response can no longer be completed.
    func cut() {
        guard state != .closed else { return }
        if state == .exchanging, let exchange {
            let (status, source) = exchange.machine.cutStatus
            exchange.record(status: status, answeredBy: source)
        }
        releaseExchange()
        state = .closed
        worker.close(fd, reset: true)
        worker.connectionClosed(listener)
    }
}

import Balancer
import EventLoop
import HTTP1
import Metrics

/// One client connection on an HTTP listener, for its whole life: it reads request heads, routes
/// each request, relays the exchange with one upstream connection at a time, and answers the
/// pipelined requests in order. Confined to its worker's thread.
///
/// The session is a pump: every event sets readiness flags and calls `drive()`, which makes all
/// the progress it can (read, parse, move bytes, write) until nothing changes. Back-pressure comes
/// from the buffers: a side is not read while the buffer it feeds is above the high-water mark.
final class HTTPSession {
    // unowned(unsafe): the worker outlives every session it owns, and a checked unowned
    // reference costs a retain/release pair per access on the hot path.
    unowned(unsafe) let worker: Worker
    let fd: Int32
    private(set) var generation: UInt32 = 0
    let peer: SocketAddress
    let listener: Listener
    /// TLS termination (a listener with `tls:`), nil for plaintext.
    let secure: SecureChannel?

    var clientIn: ByteBuffer
    var clientOut: ByteBuffer
    /// Request bytes for the upstream. Kept whole until the first byte is written, so a failed
    /// connect can be retried on another backend with exactly the same bytes.
    var upstreamOut: ByteBuffer
    var clientReadable = false
    var clientWritable = true
    var clientHangup = false
    var clientEOF = false

    /// `handshaking`: TLS first (listeners with `tls:`). `lingering`: our FIN is sent (after a
    /// close_notify over TLS) and what the client still sends is read and dropped until it
    /// closes (or 2 s pass), so a request racing our close gets an EOF, never an RST.
    enum State { case handshaking, readingHead, exchanging, tunnel, closing, lingering, closed }
    var state: State = .readingHead

    var request = RequestFacts()
    var response = ResponseFacts()
    var upstream: UpstreamConnection?

    enum Body {
        case remaining(UInt64)
        case chunked(ChunkedDecoder)
        case untilClose
    }
    var requestBody: Body = .remaining(0)
    var requestDone = true
    enum ResponsePhase { case awaitingHead, body, done }
    var responsePhase: ResponsePhase = .done
    var responseBody: Body = .remaining(0)
    /// The client speaks HTTP/1.0 and the upstream answered chunked: send the payload close-delimited.
    var dechunk = false
    var closeAfterExchange = false
    var upstreamBytesSent = 0
    /// How many bytes of `upstreamOut` can be sent again to another backend (a safe request
    /// without a body), or 0.
    var replayLength = 0
    var responseStarted = false
    var tried = TriedSet()
    /// The routing snapshot of the current exchange (indices below refer to it).
    var routing: WorkerRouting
    var poolIndex = -1
    var routeIndex = -1
    /// The backend this exchange is counted in flight on, while it is.
    var claim: InFlightClaim?
    /// Set when this exchange's backend was removed by a reload: the deregistration delay's end.
    var drainDeadline: UInt64 = .max
    /// A sticky assignment made for this exchange: its Set-Cookie goes out with the response.
    var assignCookieSlot: Int?
    var attempts = 0

    // Accounting of the current exchange (see `HTTPSession+Accounting`).
    /// Between the request head and the decision of its answer.
    var exchangeOpen = false
    var exchangeStartedAt: UInt64 = 0
    /// When the latest backend attempt began (picked; connect or idle connection taken).
    var upstreamStartedAt: UInt64 = 0
    /// The backend of the latest attempt (an index into its pool in `routing`), or -1.
    var exchangeBackend = -1
    /// Bytes of the request read from the client (head and body), of the answer queued for it.
    var requestBytes = 0
    var responseBytes = 0
    /// The request's method and target, for the access log (see `Worker+AccessLog`).
    var accessLogCapture: AccessLogCapture

    var lastActivity: UInt64 = 0
    var headStarted: UInt64 = 0
    /// The earliest deadline this session has an entry for in the loop's timer heap.
    var queuedDeadline: UInt64 = .max
    var servedRequests = 0
    var shutdownPending = false
    var lingerDeadline: UInt64 = 0
    /// Stopping: an idle keep-alive connection waits this long for a request it may already be
    /// sending (answered with `Connection: close`) before its FIN. Closing at once races with a
    /// client that sends just then, which sees the connection closed under its request.
    var shutdownIdleUntil: UInt64 = 0
    static let shutdownIdleGrace: UInt64 = 1_000_000_000
    /// Lingering: the FIN has gone (over TLS it waits for the close_notify to be sent).
    var finSent = false
    var tunnelUpstreamShut = false
    var tunnelClientShut = false

    static let maxAttempts = 3

    init(worker: Worker, fd: Int32, peer: SocketAddress, listener: Listener, secure: SecureChannel? = nil) {
        self.worker = worker
        self.fd = fd
        self.peer = peer
        self.listener = listener
        self.secure = secure
        if secure != nil { state = .handshaking }
        routing = worker.routing
        clientIn = ByteBuffer(pool: worker.bufferPool)
        clientOut = ByteBuffer(pool: worker.bufferPool)
        upstreamOut = ByteBuffer(pool: worker.bufferPool)
        accessLogCapture = AccessLogCapture(pool: worker.bufferPool)
    }

    var settings: ProxySettings { worker.settings }
    var now: UInt64 { worker.loop.now }

    func start(generation: UInt32) {
        self.generation = generation
        lastActivity = now
        ensureTimer()
    }

    // MARK: events

    func clientEvent(_ events: IOEvents) {
        if events.readable { clientReadable = true }
        if events.readHangup || events.hangup { clientHangup = true }
        if events.writable { clientWritable = true }
        drive()
    }

    func upstreamEvent(_ events: IOEvents) {
        guard let u = upstream else { return }
        if !u.connected {
            guard events.writable || events.hangup else { return }
            if Socket.pendingError(u.fd) != 0 {
                upstreamFailed()
                drive()
                return
            }
            u.connected = true
            lastActivity = now
        }
        if events.readable { u.readable = true }
        if events.readHangup || events.hangup { u.sawHangup = true }
        if events.writable { u.writable = true }
        drive()
    }

    /// Makes all the progress possible now.
    func drive() {
        var progress = true
        while progress {
            switch state {
            case .handshaking: progress = stepHandshake()
            case .readingHead: progress = stepReadingHead()
            case .exchanging: progress = stepExchange()
            case .tunnel: progress = stepTunnel()
            case .closing: progress = stepClosing()
            case .lingering: progress = stepLingering()
            case .closed: return
            }
        }
        if state != .closed { ensureTimer() }
    }

    // MARK: reading request heads

    private func stepReadingHead() -> Bool {
        // Pipelined requests are answered in order: the next head waits for this response to leave.
        if clientOutputPending {
            switch writeClient(from: &clientOut) {
            case .wrote: lastActivity = now; return true
            case .nothing: return false
            case .failed: abort(); return false
            }
        }
        clientOut.releaseIfEmpty()
        if shutdownPending && clientIn.isEmpty && servedRequests > 0 && !clientInputMayWait && now >= shutdownIdleUntil {
            beginLingering(for: 500_000_000)
            return true
        }
        if !clientIn.isEmpty {
            do {
                let limits = ParseLimits(maxHeaderBytes: settings.maxHeaderBytes)
                switch try parseRequestHead(clientIn.readable, limits: limits, into: &worker.requestHead) {
                case .complete:
                    request = RequestFacts(worker.requestHead)
                    request.replayable = request.framing == .none
                        && isSafeMethod(clientIn.readable, worker.requestHead.method)
                    startExchange()
                    return true
                case .incomplete:
                    break
                }
            } catch {
                respond(error.status)
                return true
            }
        }
        let wasEmpty = clientIn.isEmpty
        switch readClient(into: &clientIn) {
        case .data:
            if wasEmpty { headStarted = now }
            lastActivity = now
            return true
        case .endOfStream, .failed:
            // A client that leaves between requests is normal; one that leaves mid-head is too.
            closeClient()
            return false
        case .nothing:
            if wasEmpty { clientIn.releaseIfEmpty() }
            // Stopping, nothing came and the grace is over: the check at the top lingers it out.
            return shutdownPending && clientIn.isEmpty && servedRequests > 0 && now >= shutdownIdleUntil
        }
    }

    // MARK: timers

    private var deadline: UInt64 {
        switch state {
        case .handshaking:
            return lastActivity &+ settings.clientHeaderTimeout
        case .readingHead:
            if !clientIn.isEmpty { return headStarted &+ settings.clientHeaderTimeout }
            let idle = lastActivity &+ (servedRequests == 0 ? settings.clientHeaderTimeout : settings.idleTimeout)
            return shutdownPending && servedRequests > 0 ? min(idle, shutdownIdleUntil) : idle
        case .exchanging:
            if let u = upstream, !u.ready { return lastActivity &+ settings.connectTimeout }
            return min(lastActivity &+ settings.upstreamResponseTimeout, drainDeadline)
        case .tunnel:
            return min(lastActivity &+ settings.idleTimeout, drainDeadline)
        case .closing:
            return lastActivity &+ 5_000_000_000
        case .lingering:
            return lingerDeadline
        case .closed:
            return .max
        }
    }

    /// Deadlines move on every exchange. Moving one later costs nothing: the queued entry fires,
    /// finds the session not due yet, and re-arms (see `TimerHeap`). Only a deadline earlier than
    /// the earliest queued one (a short `upstream_response` after a long `idle`) adds an entry.
    private func ensureTimer() {
        let due = deadline
        guard due < queuedDeadline else { return }
        queuedDeadline = due
        worker.loop.schedule(deadline: due, token: worker.timerToken(fd: fd, generation: generation))
    }

    func timerFired() {
        if queuedDeadline <= now { queuedDeadline = .max }
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
                if let secure { _ = secure.finishOutput(fd, writable: &clientWritable) }
                closeClient()
            } else {
                respond(408)
            }
        case .exchanging where now >= drainDeadline, .tunnel where now >= drainDeadline:
            abort()  // the deregistration delay is over: nothing may stay on the removed backend
        case .exchanging:
            if let u = upstream, !u.ready {
                // A connect (or TLS handshake) that times out sent nothing: try another backend.
                upstreamFailed()
            } else {
                upstreamError(.timeout)
                respond(504)
            }
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
        guard claim != nil, deadline < drainDeadline else { return }
        drainDeadline = deadline
        ensureTimer()
    }

    /// The worker is stopping: idle keep-alive connections close now, busy ones after this exchange.
    func shutdownRequested() {
        shutdownPending = true
        closeAfterExchange = true
        shutdownIdleUntil = now &+ HTTPSession.shutdownIdleGrace
        // A connection that has not sent its first request yet (accepted just now, from the
        // listen queue) is served once: its client did nothing wrong.
        // An idle keep-alive connection reads once more (a request may already sit in the socket:
        // it is served, with Connection: close), waits `shutdownIdleGrace` for one that may be on
        // its way, then lingers out.
        if state == .readingHead && clientIn.isEmpty && !clientOutputPending && servedRequests > 0 {
            clientReadable = true
            drive()
        }
    }

    /// Flushes what is queued for the client (an error answer, the end of a close-delimited body),
    /// then closes.
    private func stepClosing() -> Bool {
        switch writeClient(from: &clientOut) {
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
    private func beginLingering(for duration: UInt64 = 2_000_000_000) {
        dropUpstream()
        releaseInFlight()
        finSent = finishClientOutput()
        state = .lingering
        lingerDeadline = now &+ duration
        clientReadable = true
    }

    /// Sends the FIN once TLS's close_notify is out, and drops what the client sends (raw: over
    /// TLS nothing is decrypted any more).
    private func stepLingering() -> Bool {
        if !finSent {
            finSent = finishClientOutput()
            if !finSent && !clientReadable { return false }
        }
        switch readOnce(fd, into: &clientIn, readable: &clientReadable, sawHangup: clientHangup) {
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

    /// Cuts the exchange's upstream connection (RST: it is not known to be reusable).
    func dropUpstream() {
        guard let u = upstream else { return }
        worker.close(u.fd, reset: true)
        upstream = nil
    }

    /// Returns the exchange's in-flight count to the backend it was taken on.
    func releaseInFlight() {
        claim?.release(worker)
        claim = nil
    }

    func closeClient() {
        guard state != .closed else { return }
        releaseInFlight()
        dropUpstream()
        state = .closed
        worker.close(fd)
        worker.connectionClosed(listener)
    }

    /// The stop deadline passed: an exchange or tunnel still running is cut (RST); a connection
    /// between requests, lingering or flushing its last answer just closes.
    func stopNow() {
        switch state {
        case .exchanging, .tunnel: abort()
        case .handshaking, .readingHead, .closing, .lingering: closeClient()
        case .closed: break
        }
    }

    /// Cuts the connection short (RST), as when a response can no longer be completed.
    func abort() {
        guard state != .closed else { return }
        // Cut short: the status is the answer's if it had begun; 499 (nginx's "client closed
        // request") when the client left first, as it does for most cuts before an answer.
        if state == .exchanging {
            if responseStarted { endExchange(status: response.status, answeredBy: .cutShort) } else { endExchange(status: 499, answeredBy: .proxy) }
        }
        releaseInFlight()
        dropUpstream()
        state = .closed
        worker.close(fd, reset: true)
        worker.connectionClosed(listener)
    }

    /// Answers with the proxy's own short response and closes. Once the upstream's response has
    /// started, there is no honest answer left to give: the connection is cut instead.
    func respond(_ status: Int) {
        if responseStarted && state == .exchanging {
            abort()
            return
        }
        dropUpstream()
        clientOut.clear()
        writeErrorResponse(status: status, into: &clientOut)
        responseBytes = clientOut.readableCount
        if state == .readingHead {
            answeredBeforeExchange(status: status)
        } else {
            endExchange(status: status, answeredBy: .proxy)
        }
        state = .closing
        lastActivity = now
    }
}

import Balancer
import EventLoop
import Transport
import HTTP1
import Metrics

/// One request and its answer: the routing snapshot it was routed under, its route, pool and
/// backend, the in-flight claim, the attempts and replays, the upstream connection it uses, the
/// drain deadline and its accounting. Its rules are `ExchangeMachine`'s; this type carries the
/// decisions out and moves the bytes. It reads the client connection's buffers (the HTTP/1
/// codec) but never touches the client's socket: the connection reads and writes it.
///
/// Exchanges are recycled by their worker (`Worker.takeExchange`): a keep-alive request
/// allocates none, and a connection between requests holds none. Confined to its worker's thread.
final class Exchange {
    // unowned(unsafe): the worker outlives every exchange, and the client connection outlives
    // the exchange it holds (it gives it back before it goes). A checked reference would cost a
    // retain/release pair per access on the hot path.
    unowned(unsafe) let worker: Worker
    unowned(unsafe) var client: ClientConnection

    var machine = ExchangeMachine()
    var request = RequestFacts()
    var response = ResponseFacts()

    /// The routing snapshot of this exchange (the indices below refer to it), kept even if a
    /// reload lands meanwhile.
    var routing: WorkerRouting
    var route: Int?
    var pool: Int?
    var attempts = BackendAttempts()
    var upstream: UpstreamConnection?
    /// Request bytes for the upstream. Kept whole until the first byte is written, so a failed
    /// connect can be retried on another backend with exactly the same bytes.
    var upstreamOut: ByteBuffer
    var requestBody: BodyProgress = .remaining(0)
    var responseBody: BodyProgress = .remaining(0)
    /// A sticky assignment made for this exchange: its Set-Cookie goes out with the response.
    var assignCookieSlot: Int?

    // Accounting (see `Exchange+Record`).
    /// Between the request head and the decision of its answer.
    var recordOpen = false
    var startedAt: UInt64 = 0
    /// Bytes of the request read from the client (head and body), of the answer queued for it.
    var requestBytes = 0
    var responseBytes = 0
    /// The request's method and target, for the access log.
    var accessLogCapture: AccessLogCapture

    init(worker: Worker, client: ClientConnection) {
        self.worker = worker
        self.client = client
        routing = worker.routing
        upstreamOut = ByteBuffer(pool: worker.bufferPool)
        accessLogCapture = AccessLogCapture(pool: worker.bufferPool)
    }

    var settings: ProxySettings { worker.settings }
    var now: UInt64 { worker.loop.now }

    // MARK: starting

    /// The request head is parsed (in `worker.requestHead`, its bytes at the front of the
    /// client's buffer): route it, write the upstream head, and get a connection.
    func begin() {
        let headLength = request.headLength
        if worker.accessLog != nil {
            accessLogCapture.capture(client.clientIn.readable, method: worker.requestHead.method,
                                     target: worker.requestHead.target)
        }
        var requestDone = true
        switch request.framing {
        case .none, .untilClose:
            requestBody = .remaining(0)
        case .contentLength(let n):
            requestBody = .remaining(n)
            requestDone = n == 0
        case .chunked:
            requestBody = .chunked(ChunkedDecoder())
            requestDone = false
        }
        machine = ExchangeMachine(requestDone: requestDone,
                                  closeAfter: request.wantsClose || client.shutdownPending || worker.answersClose)
        attempts = BackendAttempts()
        routing = worker.routing
        route = client.listener.routeIndex
        pool = nil
        beginRecord(headLength: headLength)

        var choice: PoolChoice?
        if !request.isCONNECT, let route {
            choice = routing.choosePool(route: route, head: &worker.requestHead, source: client.clientIn.readable,
                                        peer: client.peer)
        }
        let decision = machine.start(isCONNECT: request.isCONNECT, routed: choice != nil)
        assignCookieSlot = choice?.assignCookieSlot
        if let choice {
            pool = choice.pool
            writeUpstreamHead(pool: choice.pool)
            machine.replayLength = request.replayable ? upstreamOut.readableCount : 0
        }
        client.clientIn.consume(headLength)
        perform(decision)
    }

    private func writeUpstreamHead(pool: Int) {
        let ipLength = client.peer.writeIP(into: worker.addressScratch)
        let ip = UnsafeRawBufferPointer(rebasing: worker.addressScratch[0..<ipLength])
        let proto: StaticString = client.listener.spec.forwardedProto == .https ? "https" : "http"
        // An HTTP/1.0 request may lack Host; the upstream request is HTTP/1.1 and needs one. The
        // pool's name stands in, as nginx sends its upstream's name.
        let poolName = routing.table.pools[pool].hostBytes
        let bound = upstreamRequestHeadUpperBound(worker.requestHead, clientAddressCount: ipLength + poolName.count)
        let written = poolName.withUnsafeBytes { host in
            writeUpstreamRequestHead(
                worker.requestHead, from: client.clientIn.readable, clientAddress: ip, forwardedProto: proto,
                keepUpgrade: request.upgrade, fallbackHost: host, into: upstreamOut.writableSpace(minimum: bound))
        }
        // The upper bound is exact enough that the write cannot run out of room.
        upstreamOut.didWrite(written ?? 0)
    }

    // MARK: carrying decisions out

    /// Does what the machine decided. The moves that need the parsed head at hand (forwarding a
    /// head, entering a tunnel) are done where the head is; everything else is done here.
    func perform(_ decision: ExchangeDecision) {
        if let blame = decision.blame { blameBackend(blame) }
        switch decision.action {
        case .proceed, .forwardInterim, .forwardFinal, .tunnel:
            break
        case .connect:
            letGoOfBackend()
            connectUpstream()
        case .replay:
            letGoOfBackend()
            upstreamOut.rewind(toWritten: machine.replayLength)
            machine.rewound()
            connectUpstream()
        case .answer(let status):
            letGoOfBackend()
            client.answer(status)
        case .cut:
            client.cut()
        case .finish:
            finish()
        }
    }

    /// Gets an upstream connection to a backend of the chosen pool that this request has not
    /// tried: an idle one if the worker has it, else a new non-blocking connect.
    private func connectUpstream() {
        guard let pool else { return }
        let outcome = Connector(worker: worker).connect(
            pool: pool, routing: routing, attempts: &attempts, owner: .upstream(self), reuse: true,
            attempt: { machine.mayAttempt() },
            refused: { id in worker.upstreamError(.connect, backendID: id, pool: pool, routing: routing) })
        switch outcome {
        case .connection(let connection):
            upstream = connection
            client.lastActivity = now
        case .localShortage:
            perform(machine.localShortage())
        case .exhausted:
            perform(machine.noBackendLeft(triedAny: attempts.triedAny))
        }
    }

    /// The upstream connection failed (refused, reset, a failed handshake or write, closed
    /// before a byte of the answer).
    func upstreamFailed() {
        perform(machine.upstreamFailed(established: upstream?.ready ?? false))
    }

    /// Cuts the upstream connection (RST: it is not known to be reusable).
    func dropUpstream() {
        guard let u = upstream else { return }
        worker.close(u.fd, reset: true)
        upstream = nil
    }

    /// The backend is no longer part of this exchange: its connection is cut, its in-flight
    /// count returned.
    func letGoOfBackend() {
        dropUpstream()
        attempts.release(worker)
    }

    // MARK: events

    /// An epoll event on the upstream connection's socket.
    func upstreamEvent(_ events: IOEvents) {
        guard let u = upstream else { return }
        if !u.connected {
            guard events.writable || events.hangup else { return }
            if Socket.pendingError(u.fd) != 0 {
                upstreamFailed()
                client.drive()
                return
            }
            u.connected = true
            client.lastActivity = now
        }
        u.stream.note(events)
        client.drive()
    }

    /// When the exchange must have moved again: a connect within `connect`, an answer within
    /// `upstream_response` of the last progress, and never past a drain deadline.
    func deadline(lastActivity: UInt64) -> UInt64 {
        if let u = upstream, !u.ready { return lastActivity &+ settings.connectTimeout }
        return min(lastActivity &+ settings.upstreamResponseTimeout, machine.drainDeadline)
    }

    /// The deadline passed.
    func timedOut() {
        perform(machine.timedOut(now: now, established: upstream?.ready ?? true))
    }

    /// A reload removed the backend this exchange or tunnel uses: it may last until `deadline`.
    func drain(until deadline: UInt64) {
        guard attempts.claim != nil, deadline < machine.drainDeadline else { return }
        machine.drainDeadline = deadline
    }

    // MARK: ending

    /// The answer is complete (and the request read, or not needed): the upstream connection
    /// goes back to the idle pool if the machine says it may, and the client connection waits
    /// for its next request (or closes).
    private func finish() {
        record(status: response.status, answeredBy: .backend)
        if let u = upstream {
            upstream = nil
            let facts = UpstreamFacts(backendRetired: worker.isRemoved(backendID: u.backendID), peerClosed: u.peerClosed,
                                      sawHangup: u.stream.sawHangup, quiet: upstreamOut.isEmpty && u.isQuiet,
                                      stopping: worker.isStopping)
            if machine.upstreamReusable(facts, responseFraming: response.framing, responseWantsClose: response.wantsClose) {
                worker.keepIdle(u)
            } else {
                worker.close(u.fd)
            }
        }
        attempts.release(worker)
        upstreamOut.clear()
        upstreamOut.releaseIfEmpty()
        client.exchangeFinished(closing: machine.closeAfter)
    }

    /// The client connection is done with this exchange (closed, cut, or answered by the proxy):
    /// whatever it still holds on the backend is let go, and it goes back to the worker.
    func release() {
        letGoOfBackend()
        upstreamOut.clear()
        upstreamOut.releaseIfEmpty()
        accessLogCapture.clear()
        worker.recycle(self)
    }
}

/// Where a body stands on one side: bytes left by length, a chunked decoder, or until the close.
enum BodyProgress {
    case remaining(UInt64)
    case chunked(ChunkedDecoder)
    case untilClose
}

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
final class Exchange<Client: ExchangeClient> {
    // A strong `let`: read through a live object it costs nothing (the compiler borrows it), where
    // an unowned(unsafe) load costs a retain/release pair per access. The cycle with the worker's
    // tables ends at `Worker.tearDown`.
    let worker: Worker
    // unowned(unsafe): the client connection outlives the exchange it holds (it gives it back
    // before it goes), and a recycled exchange serves another client, so this cannot be a `let`.
    unowned(unsafe) var client: Client
    let clock: LoopClock

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
    /// The listener's rule that matched (an index into its rules), if one did.
    var rule: Int?
    /// Bytes of `worker.targetScratch` holding the normalised target the upstream gets instead
    /// of the client's (a listener routing by path), or nil.
    var normalizedTargetLength: Int?

    // Accounting (see `Exchange+Record`).
    /// Between the request head and the decision of its answer.
    var recordOpen = false
    var startedAt: UInt64 = 0
    /// Bytes of the request read from the client (head and body), of the answer queued for it.
    var requestBytes = 0
    var responseBytes = 0
    /// The request's method and target, for the access log.
    var accessLogCapture: AccessLogCapture

    init(worker: Worker, client: Client) {
        self.worker = worker
        self.client = client
        clock = worker.loop.clock
        routing = worker.routing
        upstreamOut = ByteBuffer(pool: worker.bufferPool)
        accessLogCapture = AccessLogCapture(pool: worker.bufferPool)
    }

    var settings: ProxySettings { worker.settings }
    var now: UInt64 { clock.now }

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
        rule = nil
        normalizedTargetLength = nil
        beginRecord(headLength: headLength)

        if !request.isCONNECT && !client.listener.rules.isEmpty { matchRules() }
        let answeredByRule = rule.map { client.listener.rules.answers($0) } ?? false
        var choice: PoolChoice?
        if !request.isCONNECT, !answeredByRule, let route {
            choice = routing.choosePool(route: route, head: &worker.requestHead, source: client.clientIn.readable,
                                        peer: client.peer)
        }
        let decision = machine.start(isCONNECT: request.isCONNECT, answeredByRule: answeredByRule, routed: choice != nil)
        assignCookieSlot = choice?.assignCookieSlot
        if let choice, let route {
            pool = choice.pool
            writeUpstreamHead(route: route, pool: choice.pool)
            machine.replayLength = request.replayable ? upstreamOut.readableCount : 0
        }
        if decision.action == .answerLocally, let rule {
            // Written while the head's bytes are at hand (a redirect keeps the path and query).
            let status = writeLocalAnswer(client.listener.rules.rules[rule])
            route = nil  // counted as the rule's hit, under no route
            client.clientIn.consume(headLength)
            perform(machine.answeredLocally(status: status))
            return
        }
        client.clientIn.consume(headLength)
        perform(decision)
    }

    /// The listener's rules, first match wins: a rule that routes picks the route; one that
    /// answers is carried out by `begin`. Paths are matched in their normal form, which then goes
    /// upstream too, so the backend sees the path the rule saw.
    private func matchRules() {
        let rules = client.listener.rules
        let source = client.clientIn.readable
        let target = worker.requestHead.target
        var host: UnsafeRawBufferPointer?
        if let authority = targetAuthority(source, target: target) {
            host = hostName(of: UnsafeRawBufferPointer(rebasing: source[authority]))
        } else {
            for field in worker.requestHead.fields where field.kind == .host {
                host = hostName(of: UnsafeRawBufferPointer(rebasing: source[field.value]))
                break
            }
        }
        let pathRange = requestPath(source, target: target)
        var path = UnsafeRawBufferPointer(rebasing: source[pathRange])
        if path.isEmpty { path = ListenerRules.rootPath }  // an empty path is "/" (RFC 9112 §3.2.2)
        if rules.normalizesPaths && pathNeedsNormalizing(path),
           let length = normalizePath(path, into: worker.targetScratch),
           length + (target.upperBound - pathRange.upperBound) <= worker.targetScratch.count {
            let query = UnsafeRawBufferPointer(rebasing: source[pathRange.upperBound..<target.upperBound])
            UnsafeMutableRawBufferPointer(rebasing: worker.targetScratch[length..<(length + query.count)]).copyMemory(from: query)
            normalizedTargetLength = length + query.count
            path = UnsafeRawBufferPointer(rebasing: worker.targetScratch[0..<length])
        }
        guard let matched = rules.firstMatch(host: host, path: path, head: worker.requestHead, source: source) else { return }
        rule = matched
        worker.metrics.recordRuleHit(rules.rules[matched].metricsID)
        if !rules.answers(matched) { route = rules.routeIndices[matched] }
    }

    private func writeUpstreamHead(route: Int, pool: Int) {
        let ipLength = client.peer.writeIP(into: worker.addressScratch)
        let ip = UnsafeRawBufferPointer(rebasing: worker.addressScratch[0..<ipLength])
        let proto: StaticString = client.listener.spec.forwardedProto == .https ? "https" : "http"
        // An HTTP/1.0 request may lack Host; the upstream request is HTTP/1.1 and needs one. The
        // pool's name stands in, as nginx sends its upstream's name.
        let poolName = routing.table.pools[pool].hostBytes
        // Header edits: the route's, then the matched rule's; most routes have none.
        let source = client.clientIn.readable
        let spec = routing.table.routes[route]
        worker.clearExtraLines()
        if !spec.requestEdits.isEmpty {
            spec.requestEdits.drop(from: &worker.requestHead.fields, source: source)
            spec.requestEdits.append(route: spec.nameBytes, pool: poolName, to: &worker.extraLines)
        }
        if let rule, !client.listener.rules.rules[rule].requestEdits.isEmpty {
            let edits = client.listener.rules.rules[rule].requestEdits
            edits.drop(from: &worker.requestHead.fields, source: source)
            edits.append(route: spec.nameBytes, pool: poolName, to: &worker.extraLines)
        }
        let target = normalizedTargetLength.map { UnsafeRawBufferPointer(rebasing: worker.targetScratch[0..<$0]) }
        let bound = upstreamRequestHeadUpperBound(worker.requestHead, clientAddressCount: ipLength + poolName.count)
            + worker.extraLines.count + (target?.count ?? 0)
        let written = poolName.withUnsafeBytes { host in
            worker.extraLines.withUnsafeBytes { extra in
                writeUpstreamRequestHead(
                    worker.requestHead, from: source, clientAddress: ip, forwardedProto: proto,
                    keepUpgrade: request.upgrade, fallbackHost: host, target: target, extraFields: extra,
                    into: upstreamOut.writableSpace(minimum: bound))
            }
        }
        // The upper bound is exact enough that the write cannot run out of room.
        upstreamOut.didWrite(written ?? 0)
    }

    /// A rule's own answer into the client's buffer: its status and body, or a redirect to its
    /// location followed by the request's path and query as sent. Returns the status.
    private func writeLocalAnswer(_ spec: RequestRule) -> Int {
        let source = client.clientIn.readable
        worker.clearExtraLines()
        var status = 200
        var body: [UInt8] = []
        switch spec.action {
        case .respond(let code, let text):
            status = code
            body = text
        case .redirect(let location, let code):
            status = code ?? (request.isGETOrHEAD ? 301 : 308)
            let target = worker.requestHead.target
            let path = requestPath(source, target: target)
            worker.extraLines.append(contentsOf: "Location: ".utf8)
            worker.extraLines.append(contentsOf: location)
            if path.isEmpty && (target.isEmpty || source[target.lowerBound] != UInt8(ascii: "/")) {
                // `*` (OPTIONS) or an absolute-form target without a path: the site's root.
                worker.extraLines.append(UInt8(ascii: "/"))
            } else {
                // `//host/x` after a location without a host would send the client to another
                // site (a network-path reference): the path's leading slashes collapse to one.
                var start = path.lowerBound
                if location.isEmpty || location.first == UInt8(ascii: "/") {
                    while start + 1 < path.upperBound && source[start + 1] == UInt8(ascii: "/") { start += 1 }
                }
                worker.extraLines.append(contentsOf: UnsafeRawBufferPointer(rebasing: source[start..<target.upperBound]))
            }
            worker.extraLines.append(contentsOf: "\r\n".utf8)
        case .route:
            break
        }
        spec.responseEdits.append(route: [], pool: [], to: &worker.extraLines)
        let bound = simpleResponseUpperBound(bodyCount: body.count) + worker.extraLines.count
        let written = body.withUnsafeBytes { bytes in
            worker.extraLines.withUnsafeBytes { extra in
                writeLocalResponse(status: status, body: bytes, headOnly: request.isHEAD, extraFields: extra,
                                   close: machine.closeAfter || !machine.requestDone,
                                   into: client.clientOut.writableSpace(minimum: bound))
            }
        }
        client.clientOut.didWrite(written ?? 0)
        responseBytes = written ?? 0
        return status
    }

    // MARK: carrying decisions out

    /// Does what the machine decided. The moves that need the parsed head at hand (forwarding a
    /// head, entering a tunnel) are done where the head is; everything else is done here.
    func perform(_ decision: ExchangeDecision) {
        if let blame = decision.blame { blameBackend(blame) }
        switch decision.action {
        case .proceed, .forwardInterim, .forwardFinal, .tunnel, .answerLocally:
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
            pool: pool, routing: routing, attempts: &attempts, owner: client.upstreamOwner(self), reuse: true,
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
        // The claim and the request buffer go back in `release`, which the client calls now.
        client.exchangeFinished(closing: machine.closeAfter)
    }

    /// The client connection is done with this exchange (closed, cut, or answered by the proxy):
    /// whatever it still holds on the backend is let go, and it goes back to the worker.
    func release() {
        letGoOfBackend()
        upstreamOut.clear()
        upstreamOut.releaseIfEmpty()
        accessLogCapture.clear()
        client.recycle(self)
    }
}

/// Where a body stands on one side: bytes left by length, a chunked decoder, or until the close.
enum BodyProgress {
    case remaining(UInt64)
    case chunked(ChunkedDecoder)
    case untilClose
}

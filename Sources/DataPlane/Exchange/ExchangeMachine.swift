import HTTP1
import Metrics

/// What an exchange does next: the machine's answer to an event.
enum ExchangeAction: Equatable {
    /// Nothing to decide: go on moving bytes.
    case proceed
    /// Pick a backend this request has not tried, and get a connection to it (idle or new).
    case connect
    /// Rewind the request's bytes to their start, then `.connect`: a safe request without a body
    /// is sent again elsewhere.
    case replay
    /// The proxy answers with its own short response (and the client connection closes after).
    case answer(Int)
    /// Cut the client connection (RST): an answer has begun, or the request cannot be completed.
    case cut
    /// A 1xx head goes to the client as it is; the final head follows.
    case forwardInterim
    /// The final head goes to the client; its body (if any) follows.
    case forwardFinal
    /// A rule answers the request itself (`respond`, `redirect`): no backend is involved.
    case answerLocally
    /// A 101 to a request that asked for it: both sides become an opaque tunnel.
    case tunnel
    /// The answer is complete and the request has been read (or will not be): the exchange ends.
    case finish
}

/// The decision and, when the backend is to blame, the failure counted against it.
struct ExchangeDecision: Equatable {
    var action: ExchangeAction
    var blame: UpstreamErrorKind?

    init(_ action: ExchangeAction, blame: UpstreamErrorKind? = nil) {
        self.action = action
        self.blame = blame
    }
}

/// Where the response stands.
enum ResponsePhase: Equatable { case awaitingHead, body, done }

/// The rules of one exchange, in one place: what to do after a failed connect, a backend that
/// closed early, a 1xx, a 101, a final head, a timeout, a drain deadline, and when an upstream
/// connection may be reused. Pure: it holds the exchange's progress and turns events into
/// decisions; `Exchange` carries them out. No socket, no clock, no worker — tested as it is.
struct ExchangeMachine {
    /// At most this many backends per request (the first attempt and two retries).
    static let maxAttempts = 3

    var requestDone = true
    var responsePhase: ResponsePhase = .awaitingHead
    /// A final head went to the client: from here on a failure can only cut the connection.
    var responseStarted = false
    /// The client connection closes after this exchange (asked, stopping, or the response's
    /// framing needs it).
    var closeAfter = false
    /// An HTTP/1.0 client and a chunked answer: the payload goes out close-delimited.
    var dechunk = false
    /// Request bytes already handed to the current upstream connection.
    var upstreamBytesSent = 0
    /// How many bytes of the upstream request can be sent again (a safe request without a
    /// body), or 0.
    var replayLength = 0
    /// Backends tried so far (each pick is one).
    var attempts = 0
    /// Set when this exchange's backend was removed by a reload: the deregistration delay's end.
    var drainDeadline: UInt64 = .max
    /// The final head's status, once there is one.
    var status = 0

    /// A new exchange: `requestDone` is whether the request has no body to read.
    init(requestDone: Bool = true, closeAfter: Bool = false) {
        self.requestDone = requestDone
        self.closeAfter = closeAfter
    }

    // MARK: starting

    /// A request head is in. CONNECT: a reverse proxy opens no tunnels to arbitrary hosts.
    /// `answeredByRule`: a rule answers it. `routed`: a pool was chosen (false: no route, or no
    /// pool with a usable backend).
    func start(isCONNECT: Bool, answeredByRule: Bool = false, routed: Bool) -> ExchangeDecision {
        if isCONNECT { return ExchangeDecision(.answer(501)) }
        if answeredByRule { return ExchangeDecision(.answerLocally) }
        return ExchangeDecision(routed ? .connect : .answer(503))
    }

    /// A rule's own answer went out whole: the request's body, if it has one, is not read, so the
    /// connection closes after it.
    mutating func answeredLocally(status: Int) -> ExchangeDecision {
        self.status = status
        responseStarted = true
        responsePhase = .done
        if !requestDone { closeAfter = true }
        return ExchangeDecision(.finish)
    }

    /// Whether another backend may be tried; counts the attempt if so.
    mutating func mayAttempt() -> Bool {
        guard attempts < ExchangeMachine.maxAttempts else { return false }
        attempts += 1
        return true
    }

    /// No backend left to try (none usable, all tried, or the attempts used up): 503 if none was
    /// ever tried, else 502.
    func noBackendLeft(triedAny: Bool) -> ExchangeDecision {
        ExchangeDecision(.answer(triedAny ? 502 : 503))
    }

    /// A connection could not be opened for a shortage of this process (descriptors, memory):
    /// not the backend's failure, and another backend would fare no better.
    func localShortage() -> ExchangeDecision { ExchangeDecision(.answer(503)) }

    // MARK: the upstream failing

    /// The upstream connection failed: refused, timed out connecting, its TLS handshake failed,
    /// a write failed, or it closed before a byte of the answer (the classic race of a reused
    /// keep-alive connection, or a backend dying). `established`: it had connected (and
    /// handshaken): a reset, else a failed connect. Retried elsewhere only while not one byte of
    /// the request left, or when the request may be replayed.
    func upstreamFailed(established: Bool) -> ExchangeDecision {
        let blame: UpstreamErrorKind = established ? .reset : .connect
        if responseStarted { return ExchangeDecision(.cut, blame: blame) }
        guard responsePhase == .awaitingHead else { return ExchangeDecision(.answer(502), blame: blame) }
        if upstreamBytesSent == 0 { return ExchangeDecision(.connect, blame: blame) }
        // A safe request without a body, and not one byte of answer: whatever the dead backend
        // did with it, doing it again elsewhere is harmless (as nginx retries).
        if replayLength > 0 { return ExchangeDecision(.replay, blame: blame) }
        return ExchangeDecision(.answer(502), blame: blame)
    }

    /// The replay rewound the request: nothing of it has left yet.
    mutating func rewound() { upstreamBytesSent = 0 }

    /// The exchange's deadline passed at `now`. Past the drain deadline nothing may stay on a
    /// removed backend; a connect (or TLS handshake) that times out sent nothing and may go
    /// elsewhere; a backend that does not answer in time gets a 504.
    func timedOut(now: UInt64, established: Bool) -> ExchangeDecision {
        if now >= drainDeadline { return ExchangeDecision(.cut) }
        if !established { return upstreamFailed(established: false) }
        return answer(504, blame: .timeout)
    }

    /// The proxy's own answer, unless the backend's has begun: then there is no honest answer
    /// left to give, and the connection is cut.
    func answer(_ status: Int, blame: UpstreamErrorKind? = nil) -> ExchangeDecision {
        ExchangeDecision(responseStarted ? .cut : .answer(status), blame: blame)
    }

    // MARK: the response

    /// The upstream's bytes did not parse as a response head.
    func malformedResponseHead() -> ExchangeDecision { answer(502, blame: .protocol) }

    /// The upstream closed in the middle of its head.
    func closedMidHead() -> ExchangeDecision { answer(502, blame: .reset) }

    /// A response head parsed. `requestAskedUpgrade`: the request carried `Upgrade`;
    /// `clientIsHTTP10`: the client cannot read a chunked body; `payloadOnly`: the client side
    /// frames the body itself (an HTTP/2 stream, which de-chunks it and keeps its trailers), so
    /// nothing about the body closes anything.
    mutating func responseHead(status: Int, framing: BodyFraming, wantsClose: Bool,
                               requestAskedUpgrade: Bool, clientIsHTTP10: Bool,
                               payloadOnly: Bool = false) -> ExchangeDecision {
        if status == 101 {
            guard requestAskedUpgrade else { return answer(502, blame: .protocol) }
            self.status = 101
            responseStarted = true
            return ExchangeDecision(.tunnel)
        }
        // 100 Continue and friends: passed on; the final head follows.
        if status >= 100 && status < 200 { return ExchangeDecision(.forwardInterim) }
        self.status = status
        dechunk = clientIsHTTP10 && !payloadOnly && framing == .chunked
        // The client can only learn where this body ends from the close, or it is still sending
        // a body the upstream no longer reads. (A stream ends on its own: nothing to close.)
        if !payloadOnly && (framing == .untilClose || dechunk || !requestDone) { closeAfter = true }
        responseStarted = true
        switch framing {
        case .none: responsePhase = .done
        case .contentLength(let n): responsePhase = n == 0 ? .done : .body
        case .chunked, .untilClose: responsePhase = .body
        }
        return ExchangeDecision(.forwardFinal)
    }

    /// The body ended before its framing said (a length not reached, a chunked body without
    /// its last chunk): the client must not take it as whole.
    func bodyTruncated() -> ExchangeDecision { ExchangeDecision(.cut, blame: .reset) }

    /// The chunked body did not parse.
    func malformedBody() -> ExchangeDecision { ExchangeDecision(.cut, blame: .protocol) }

    // MARK: the request

    /// The request's chunked body did not parse: 400, and the connection closes.
    func malformedRequestBody() -> ExchangeDecision { answer(400) }

    /// The client left before its request was whole: the upstream must not see half of it.
    func clientLeftMidRequest() -> ExchangeDecision { ExchangeDecision(.cut) }

    // MARK: ending

    /// After bytes moved: the exchange ends when the answer is complete and the request was read
    /// (an answer that ended before the request body did — an early 413, say — ends it too: the
    /// client connection closes after it, so the rest of the body needs no reading).
    func settled() -> ExchangeDecision {
        responsePhase == .done && (requestDone || closeAfter) ? ExchangeDecision(.finish) : ExchangeDecision(.proceed)
    }

    /// How a connection cut short is counted: the status the client saw if the answer had begun;
    /// 499 (nginx's "client closed request") before, as most cuts before an answer are the
    /// client leaving.
    var cutStatus: (status: Int, source: AnswerSource) {
        responseStarted ? (status, .cutShort) : (499, .proxy)
    }

    /// Whether the upstream connection may serve another request: the exchange ended cleanly on
    /// both sides, the backend keeps it open, and nothing of it is left unread or unsent.
    func upstreamReusable(_ upstream: UpstreamFacts, responseFraming: BodyFraming, responseWantsClose: Bool) -> Bool {
        requestDone && responseFraming != .untilClose && !responseWantsClose
            && !upstream.backendRetired && !upstream.peerClosed && !upstream.sawHangup
            && upstream.quiet && !upstream.stopping
    }
}

/// What the machine needs to know of an upstream connection at the end of an exchange.
struct UpstreamFacts {
    /// Its backend was removed by a reload or drained.
    var backendRetired: Bool
    var peerClosed: Bool
    var sawHangup: Bool
    /// Nothing buffered either way (the request went out whole, no stray bytes came back).
    var quiet: Bool
    /// The worker is stopping: nothing goes back to the idle pool.
    var stopping: Bool
}

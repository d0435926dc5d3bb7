import EventLoop
import HTTP1
import TLS
import Transport

/// One client connection on an HTTP listener, for its whole life: its transport, its buffers,
/// its header / idle / linger timers and its shutdown; the HTTP/1 server codec (request heads,
/// pipelining, 101). Each request it reads becomes an `Exchange`, which routes it and relays it;
/// the connection answers the pipelined requests in order, one exchange at a time. Confined to
/// its worker's thread.
///
/// The connection is a pump: every event sets readiness flags and calls `drive()`, which makes
/// all the progress it can (read, parse, move bytes, write) until nothing changes. Back-pressure
/// comes from the buffers: a side is not read while the buffer it feeds is above the high-water
/// mark.
final class ClientConnection: ExchangeClient {
    // A strong `let`: read through a live object it costs nothing (the compiler borrows it), where
    // an unowned(unsafe) load costs a retain/release pair per access. The cycle with the worker's
    // tables ends at `Worker.tearDown`.
    let worker: Worker
    let clock: LoopClock
    var stream: ByteStream
    var fd: Int32 { stream.fd }
    private(set) var generation: UInt32 = 0
    let peer: SocketAddress
    let listener: Listener

    var clientIn: ByteBuffer
    var clientOut: ByteBuffer

    /// `handshaking`: TLS first (listeners with `tls:`). `lingering`: our FIN is sent (after a
    /// close_notify over TLS) and what the client still sends is read and dropped until it
    /// closes (or 2 s pass), so a request racing our close gets an EOF, never an RST.
    enum State { case handshaking, readingHead, exchanging, tunnel, closing, lingering, closed }
    var state: State = .readingHead

    /// The request being answered (`exchanging`, `tunnel`, and while a proxy's answer to it
    /// flushes); nil between requests.
    var exchange: Exchange<ClientConnection>?

    var lastActivity: UInt64 = 0
    /// When the first byte of the head being read arrived, if one has.
    var headStarted: UInt64?
    var queuedDeadline = QueuedDeadline()
    var servedRequests = 0
    /// The worker is stopping: this connection closes after its current exchange.
    var shutdownPending = false
    var lingerDeadline: UInt64 = 0
    /// Stopping: an idle keep-alive connection waits this long for a request it may already be
    /// sending (answered with `Connection: close`) before its FIN. Closing at once races with a
    /// client that sends just then, which sees the connection closed under its request.
    var shutdownIdleUntil: UInt64 = 0
    static let shutdownIdleGrace: UInt64 = 1_000_000_000
    /// Lingering: the FIN has gone (over TLS it waits for the close_notify to be sent).
    var finSent = false
    var tunnel = TunnelProgress()

    init(worker: Worker, stream: ByteStream, peer: SocketAddress, listener: Listener) {
        self.worker = worker
        clock = worker.loop.clock
        self.stream = stream
        self.peer = peer
        self.listener = listener
        if stream.secure != nil { state = .handshaking }
        clientIn = ByteBuffer(pool: worker.bufferPool)
        clientOut = ByteBuffer(pool: worker.bufferPool)
    }

    var settings: ProxySettings { worker.settings }
    var now: UInt64 { clock.now }

    func start(generation: UInt32) {
        self.generation = generation
        lastActivity = now
        ensureTimer()
    }

    // MARK: events

    func clientEvent(_ events: IOEvents) {
        stream.note(events)
        drive()
    }

    /// Makes all the progress possible now.
    func drive() {
        var progress = true
        while progress {
            switch state {
            case .handshaking: progress = stepHandshake()
            case .readingHead: progress = stepReadingHead()
            case .exchanging: progress = stepExchanging()
            case .tunnel: progress = stepTunnel()
            case .closing: progress = stepClosing()
            case .lingering: progress = stepLingering()
            case .closed: return
            }
        }
        if state != .closed { ensureTimer() }
    }

    var isExchanging: Bool { state == .exchanging }
    var wantsPayloadOnly: Bool { false }
    var isHTTP2: Bool { false }
    func recycle(_ exchange: Exchange<ClientConnection>) { worker.recycle(exchange) }
    func spareExchange() -> Exchange<ClientConnection> { worker.takeExchange(for: self) }
    func upstreamOwner(_ exchange: Exchange<ClientConnection>) -> FDOwner { .upstream(exchange) }

    /// Bytes for the client not yet handed to the kernel.
    var clientOutputPending: Bool { !clientOut.isEmpty || stream.hasPendingOutput }

    /// The client may have sent something not read yet: the socket says so, or TLS holds it.
    var clientInputMayWait: Bool { stream.mayRead }

    /// The TLS handshake; the head timeout starts afresh once it is done.
    private func stepHandshake() -> Bool {
        switch stream.handshake() {
        case .done:
            if listener.spec.http2 == .alpn && stream.secure?.tls.applicationProtocol == "h2" {
                becomeHTTP2()
                return false
            }
            state = .readingHead
            lastActivity = now
            return true
        case .pending:
            return false
        case .failed:
            // Garbage, a refused protocol version, a client that left: this connection only.
            closeClient()
            return false
        }
    }

    /// ALPN chose `h2`, or the h2c preface arrived: an `H2Connection` takes the socket (and the
    /// bytes read so far) from here; this object is done without closing anything.
    func becomeHTTP2() {
        state = .closed
        if !worker.upgradeToHTTP2(self) {
            state = .readingHead
            closeClient()
        }
    }

    // MARK: the exchange

    /// Client-side I/O of the exchange in progress, around the exchange's own relay.
    private func stepExchanging() -> Bool {
        guard let exchange else { return false }
        var progress = false
        if exchange.relayRequestBody() { progress = true }
        guard state == .exchanging else { return true }
        if exchange.wantsRequestBytes {
            switch stream.read(into: &clientIn) {
            case .data:
                lastActivity = now
                progress = true
            case .endOfStream, .failed:
                exchange.perform(exchange.machine.clientLeftMidRequest())
                return false
            case .nothing:
                break
            }
        }
        if exchange.pumpUpstream() { progress = true }
        guard state == .exchanging else { return true }
        switch stream.write(from: &clientOut) {
        case .wrote:
            lastActivity = now
            progress = true
        case .failed:
            cut()
            return false
        case .nothing:
            break
        }
        if exchange.settleIfDone() { return true }
        return progress
    }

    /// The exchange ended cleanly: the next request may be read (or the connection closes).
    func exchangeFinished(closing: Bool) {
        servedRequests += 1
        lastActivity = now
        state = closing ? .closing : .readingHead
        releaseExchange()
    }

    /// Gives the exchange back to the worker, with whatever it still holds on its backend.
    func releaseExchange() {
        guard let exchange else { return }
        self.exchange = nil
        exchange.release()
    }

    // MARK: the proxy's own answers

    /// Answers with the proxy's own short response and closes after it. (Once the backend's
    /// answer has begun the exchange's machine cuts instead: it never asks for this then.)
    func answer(_ status: Int) {
        clientOut.clear()
        writeErrorResponse(status: status, into: &clientOut)
        if state == .readingHead {
            recordUnroutedAnswer(status: status, headStarted: headStarted)
        } else if let exchange {
            exchange.responseBytes = clientOut.readableCount
            exchange.record(status: status, answeredBy: .proxy)
        }
        state = .closing
        lastActivity = now
    }
}

/// After a 101, each side's end-of-stream, passed on as a half-close once its bytes are delivered.
struct TunnelProgress {
    var clientEOF = false
    var upstreamShut = false
    var clientShut = false
}

import EventLoop

/// The client side an exchange answers: an HTTP/1 connection (`ClientConnection`), or one stream
/// of an HTTP/2 connection (`H2Stream`). The exchange reads the request from `clientIn` in
/// HTTP/1.1 form (a stream translates its HEADERS and DATA into it) and writes the answer to
/// `clientOut` in HTTP/1.1 form (a stream translates it back into frames); it never touches a
/// socket. `Exchange` is generic over this, so each side gets its own specialised copy and the
/// HTTP/1 path pays for no indirection.
protocol ExchangeClient: AnyObject {
    var clientIn: ByteBuffer { get set }
    var clientOut: ByteBuffer { get set }
    /// Moved on every progress: the exchange's deadlines count from it.
    var lastActivity: UInt64 { get set }
    var peer: SocketAddress { get }
    var listener: Listener { get }
    /// The worker is stopping: the exchange asks the client to close after it.
    var shutdownPending: Bool { get }
    /// The exchange is the one moving bytes now (not answered by the proxy, cut or tunnelling).
    var isExchanging: Bool { get }
    /// The client takes the answer's payload without HTTP/1 chunked framing (HTTP/2 frames it).
    var wantsPayloadOnly: Bool { get }
    /// An HTTP/2 stream (the access log's protocol).
    var isHTTP2: Bool { get }

    /// The proxy's own short answer; the client side closes (or ends the stream) after it.
    func answer(_ status: Int)
    /// The exchange cannot be completed: cut the connection (HTTP/1) or reset the stream.
    func cut()
    /// The exchange ended cleanly; `closing`: the client connection closes after it.
    func exchangeFinished(closing: Bool)
    /// A 101: the client side becomes a tunnel to the exchange's upstream connection.
    func enterTunnel()
    /// Make all the progress possible now (after an upstream event).
    func drive()
    /// Gives a finished exchange back to the worker's spares.
    func recycle(_ exchange: Exchange<Self>)
    /// An exchange from the worker's spares, bound to this client.
    func spareExchange() -> Exchange<Self>
    /// The descriptor owner an upstream connection of this exchange is registered as.
    func upstreamOwner(_ exchange: Exchange<Self>) -> FDOwner
}

extension ExchangeClient {
    /// Counts the proxy's answer (already in `clientOut`) to a request that never became an
    /// exchange (a head that did not parse, or came too slowly), as HTTP/1 and HTTP/2 alike do.
    func recordUnroutedAnswer(status: Int, headStarted: UInt64?) {
        let record = spareExchange()
        record.recordUnrouted(status: status, answerBytes: clientOut.readableCount, headStarted: headStarted)
        record.release()
    }
}

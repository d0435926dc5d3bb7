import EventLoop
import Transport

/// The worker's spare exchanges and idle upstream connections: what a request takes and gives
/// back instead of allocating.
extension Worker {
    /// At most this many spare exchanges are kept (a burst's worth beyond that is freed).
    static let spareExchangeLimit = 256

    /// An exchange for the next request of `connection`: a spare one, or a new one.
    func takeExchange(for connection: ClientConnection) -> Exchange<ClientConnection> {
        take(from: &spareExchanges, for: connection)
    }

    /// An exchange whose connection is done with it.
    func recycle(_ exchange: Exchange<ClientConnection>) { keep(exchange, in: &spareExchanges) }

    func takeExchange(for stream: H2ClientStream) -> Exchange<H2ClientStream> {
        take(from: &spareH2Exchanges, for: stream)
    }

    func recycle(_ exchange: Exchange<H2ClientStream>) { keep(exchange, in: &spareH2Exchanges) }

    private func take<Client>(from spares: inout [Exchange<Client>], for client: Client) -> Exchange<Client> {
        guard let exchange = spares.popLast() else { return Exchange(worker: self, client: client) }
        exchange.client = client
        return exchange
    }

    private func keep<Client>(_ exchange: Exchange<Client>, in spares: inout [Exchange<Client>]) {
        if spares.count < Worker.spareExchangeLimit { spares.append(exchange) }
    }

    /// A connection whose TLS handshake chose `h2` (or that began with the h2c preface) becomes
    /// an HTTP/2 connection: same socket, same bytes read so far. False when the codec cannot be
    /// made (out of memory): the caller closes.
    func upgradeToHTTP2(_ connection: ClientConnection) -> Bool {
        guard let codec = H2Connection.makeCodec(settings) else { return false }
        let h2 = H2Connection(replacing: connection, codec: codec, generation: connection.generation)
        own(connection.fd, as: .h2(h2))
        h2.drive()
        return true
    }

    /// An upstream connection that ended its exchange cleanly waits for the next one (or closes,
    /// when its backend's idle list is full).
    func keepIdle(_ connection: UpstreamConnection) {
        connection.input.releaseIfEmpty()
        connection.idleDeadline = loop.now &+ settings.idleTimeout
        guard idlePool.put(connection, limit: settings.maxIdleUpstreamsPerBackend) else {
            close(connection.fd)
            return
        }
        own(connection.fd, as: .idleUpstream(connection))
        if !connection.timerQueued {
            connection.timerQueued = true
            loop.schedule(deadline: connection.idleDeadline, token: timerToken(fd: connection.fd, generation: connection.generation))
        }
    }
}

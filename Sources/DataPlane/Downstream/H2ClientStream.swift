import EventLoop
import HTTP1
import HTTP2

/// One stream of an HTTP/2 client connection, as its exchange sees it: the request arrives in
/// `clientIn` in HTTP/1.1 form (the HEADERS translated into a head, the DATA appended — chunked
/// when the client gave no length), and the exchange writes its answer to `clientOut` in HTTP/1.1
/// form, which `flushToCodec` translates into HEADERS and DATA. The exchange — routing, rules,
/// cohorts, retries, replays, accounting — is the very one HTTP/1 connections use; the strict
/// HTTP/1 parser checks every translated head, so both protocols obey one set of rules.
final class H2ClientStream: ExchangeClient {
    unowned(unsafe) let connection: H2Connection
    private(set) var id: H2StreamID = 0
    var clientIn: ByteBuffer
    var clientOut: ByteBuffer
    var lastActivity: UInt64 = 0
    var exchange: Exchange<H2ClientStream>?

    enum Phase { case exchanging, answered, finished, closed }
    private(set) var phase: Phase = .closed
    /// The request body goes upstream chunked (the client sent no content-length).
    private var chunkedBody = false
    /// The request was a HEAD (its answer has no body, whatever its head says).
    private var isHEAD = false
    private var responseHeadSent = false
    private var bodyFinished = false
    /// The answer's body came chunked: de-chunked here, its trailers kept for the last frame.
    private var responseDecoder: ChunkedDecoder?
    private var responseTrailers: [UInt8] = []
    /// Request trailers, as HTTP/1.1 field lines, for the last chunk of a chunked request body.
    private var requestTrailers: [UInt8] = []
    /// Request body bytes received and not yet reported forwarded (flow control).
    private var unreportedPayload = 0
    /// Queued for its connection's next step (`H2Connection.wake`).
    var isAwake = false
    /// Waiting for the codec to send some of its answer (`H2Connection.waitForRoom`).
    var waitsForRoom = false

    init(connection: H2Connection) {
        self.connection = connection
        clientIn = ByteBuffer(pool: connection.worker.bufferPool)
        clientOut = ByteBuffer(pool: connection.worker.bufferPool)
    }

    var worker: Worker { connection.worker }
    var peer: SocketAddress { connection.peer }
    var listener: Listener { connection.listener }
    var shutdownPending: Bool { connection.shutdownPending }
    var isExchanging: Bool { phase == .exchanging }
    var wantsPayloadOnly: Bool { true }
    var isHTTP2: Bool { true }
    var codec: H2ServerCodec { connection.codec }

    func recycle(_ exchange: Exchange<H2ClientStream>) { worker.recycle(exchange) }
    func spareExchange() -> Exchange<H2ClientStream> { worker.takeExchange(for: self) }
    func upstreamOwner(_ exchange: Exchange<H2ClientStream>) -> FDOwner { .h2Upstream(exchange) }

    // MARK: the request

    /// A request's HEADERS: written as an HTTP/1.1 head, parsed strictly, handed to an exchange.
    func start(_ head: H2RequestHead) {
        id = head.stream
        phase = .exchanging
        responseHeadSent = false
        bodyFinished = false
        responseDecoder = nil
        responseTrailers.removeAll(keepingCapacity: true)
        requestTrailers.removeAll(keepingCapacity: true)
        unreportedPayload = 0
        lastActivity = connection.now
        let fields = codec.inbound
        chunkedBody = false
        writeRequestHead(head, fields)
        let limits = ParseLimits(maxHeaderBytes: max(worker.settings.maxHeaderBytes, worker.settings.http2MaxHeaderList + 1024))
        do {
            guard try parseRequestHead(clientIn.readable, limits: limits, into: &worker.requestHead) == .complete else {
                answerUnrouted(400)
                return
            }
        } catch {
            answerUnrouted(error.status)
            return
        }
        let exchange = worker.takeExchange(for: self)
        self.exchange = exchange
        exchange.request = RequestFacts(worker.requestHead, source: clientIn.readable)
        isHEAD = exchange.request.isHEAD
        exchange.begin()
    }

    /// `METHOD SP path SP HTTP/1.1`, `Host` from `:authority`, the regular fields, and the
    /// framing: none when the HEADERS ended the stream, the client's content-length, else chunked.
    private func writeRequestHead(_ head: H2RequestHead, _ list: H2FieldList) {
        clientIn.clear()
        list.bytes.withUnsafeBytes { bytes in
            clientIn.append(UnsafeRawBufferPointer(rebasing: bytes[head.method]))
            clientIn.append(" ")
            if let path = head.path {
                clientIn.append(UnsafeRawBufferPointer(rebasing: bytes[path]))
            } else if let authority = head.authority {  // CONNECT: authority-form
                clientIn.append(UnsafeRawBufferPointer(rebasing: bytes[authority]))
            }
            clientIn.append(" HTTP/1.1\r\n")
            if let authority = head.authority {
                clientIn.append("Host: ")
                clientIn.append(UnsafeRawBufferPointer(rebasing: bytes[authority]))
                clientIn.append("\r\n")
            }
            var sawLength = false
            for index in head.fields {
                let field = list.fields[index]
                let name = UnsafeRawBufferPointer(rebasing: bytes[field.name])
                // :authority is the request's host (RFC 9113 §8.3.1); te: trailers means nothing upstream.
                if head.authority != nil && H2ClientStream.named(name, "host") { continue }
                if H2ClientStream.named(name, "te") { continue }
                if H2ClientStream.named(name, "content-length") { sawLength = true }
                clientIn.append(name)
                clientIn.append(": ")
                clientIn.append(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
                clientIn.append("\r\n")
            }
            if !head.endStream && !sawLength {
                clientIn.append("Transfer-Encoding: chunked\r\n")
                chunkedBody = true
            }
            clientIn.append("\r\n")
        }
    }

    private static func named(_ name: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        name.count == literal.utf8CodeUnitCount && name.elementsEqual(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Request body bytes (a DATA frame's payload).
    func receiveBody(_ bytes: UnsafeRawBufferPointer) {
        guard phase == .exchanging else {
            codec.consumed(stream: id, bytes: bytes.count)  // nobody reads them: let the window go
            return
        }
        if chunkedBody {
            // The chunk size in hex, written without allocating.
            withUnsafeTemporaryAllocation(byteCount: 16, alignment: 1) { digits in
                var n = bytes.count
                var i = 16
                repeat {
                    i -= 1
                    let d = UInt8(n & 0xF)
                    digits[i] = d < 10 ? 0x30 + d : 0x61 + d - 10
                    n >>= 4
                } while n > 0
                clientIn.append(UnsafeRawBufferPointer(rebasing: digits[i..<16]))
            }
            clientIn.append("\r\n")
            clientIn.append(bytes)
            clientIn.append("\r\n")
        } else {
            clientIn.append(bytes)
        }
        unreportedPayload += bytes.count
        lastActivity = connection.now
    }

    /// Request trailers: they travel in the last chunk of a chunked body (a body sent with a
    /// content-length has nowhere to carry them upstream).
    func receiveTrailers(_ fields: Range<Int>, _ list: H2FieldList) {
        guard chunkedBody else { return }
        list.bytes.withUnsafeBytes { bytes in
            for index in fields {
                let field = list.fields[index]
                requestTrailers.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[field.name]))
                requestTrailers.append(contentsOf: ": ".utf8)
                requestTrailers.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[field.value]))
                requestTrailers.append(contentsOf: "\r\n".utf8)
            }
        }
    }

    /// The client's END_STREAM: a chunked body gets its last chunk (with any trailers).
    func receiveEnd() {
        guard phase == .exchanging && chunkedBody else { return }
        clientIn.append("0\r\n")
        if !requestTrailers.isEmpty { requestTrailers.withUnsafeBytes { clientIn.append($0) } }
        clientIn.append("\r\n")
    }

    // MARK: making progress

    /// Moves what can move: the request body upstream, the upstream's answer into frames.
    func step() {
        var progress = true
        while progress {
            progress = false
            if let exchange, phase == .exchanging {
                let queued = clientIn.readableCount
                if exchange.relayRequestBody() { progress = true }
                reportForwarded(queued - clientIn.readableCount)
                if phase == .exchanging && exchange.pumpUpstream() { progress = true }
                // Settled before flushing, so a complete answer leaves with END_STREAM at once.
                if phase == .exchanging && exchange.settleIfDone() { progress = true }
            }
            if flushToCodec() { progress = true }
        }
    }

    /// The client may send as many more body bytes as left `clientIn` (its framing overhead
    /// counted as payload at most up to what arrived: the window never opens past that).
    private func reportForwarded(_ drained: Int) {
        let bytes = min(drained, unreportedPayload)
        guard bytes > 0 else { return }
        unreportedPayload -= bytes
        codec.consumed(stream: id, bytes: bytes)
    }

    /// Translates what the exchange wrote in `clientOut`: interim heads (100 Continue, 103 Early
    /// Hints) as they come, the final head once, then body bytes while the codec holds less than
    /// the high-water mark for this stream, then the end. Returns whether anything moved.
    @discardableResult
    func flushToCodec() -> Bool {
        guard phase != .closed else { return false }
        var progress = false
        while !responseHeadSent && !clientOut.isEmpty {
            let limits = ParseLimits(maxHeaderBytes: max(worker.settings.maxHeaderBytes, 65536) + 4096)
            guard (try? parseResponseHead(clientOut.readable, requestWasHEAD: isHEAD, limits: limits,
                                          into: &worker.responseHead)) == .complete else { return progress }
            let head = worker.responseHead
            progress = true
            collectResponseFields(head)
            clientOut.consume(head.headLength)
            if head.isInformational {
                // A 101 cannot reach here (Upgrade is refused over HTTP/2); an interim head the
                // codec refuses is only a hint lost, never the stream.
                try? codec.informational(stream: id, status: head.status, headers: connection.responseFields)
                continue
            }
            if head.framing == .chunked && !isHEAD { responseDecoder = ChunkedDecoder() }
            // Nothing follows the head: the exchange is over and no body byte waits (or a HEAD).
            let ended = phase != .exchanging && (clientOut.isEmpty || isHEAD)
            do {
                try codec.respond(stream: id, status: head.status, headers: connection.responseFields, endStream: ended)
            } catch {
                codec.reset(stream: id, error: H2ErrorCode.internalError)
                return true
            }
            responseHeadSent = true
            if ended { bodyFinished = true }
        }
        guard responseHeadSent else { return progress }
        if isHEAD { clientOut.clear() }
        while !clientOut.isEmpty {
            let room = highWaterMark - codec.bufferedBody(stream: id)
            guard room > 0 else {
                connection.waitForRoom(self)
                break
            }
            let readable = clientOut.readable
            let n = min(room, readable.count)
            let taken = UnsafeRawBufferPointer(rebasing: readable[0..<n])
            var failed = false
            var consumed = n
            if var decoder = responseDecoder {
                // The exchange checked this framing already; here it only comes off, and the
                // trailers are kept for the last HEADERS frame.
                do {
                    consumed = try decoder.decode(taken, payload: { payload in
                        if (try? codec.appendBody(stream: id, bytes: payload)) == nil { failed = true }
                    }, trailer: { responseTrailers.append($0) }).consumed
                } catch {
                    failed = true
                }
                responseDecoder = decoder
            } else if (try? codec.appendBody(stream: id, bytes: taken)) == nil {
                failed = true
            }
            if failed {
                codec.reset(stream: id, error: H2ErrorCode.internalError)
                clientOut.clear()
                return true
            }
            clientOut.consume(consumed)
            progress = true
            if consumed == 0 { break }
        }
        if clientOut.isEmpty { clientOut.releaseIfEmpty() }
        if phase != .exchanging && clientOut.isEmpty && !bodyFinished {
            bodyFinished = true
            if responseTrailers.isEmpty {
                try? codec.finishBody(stream: id)
            } else {
                try? codec.finishBody(stream: id, trailers: trailerFields())
            }
            progress = true
        }
        return progress
    }

    /// A response head's fields (at the front of `clientOut`) into the connection's field list.
    private func collectResponseFields(_ head: ResponseHead) {
        connection.responseFields.removeAll()
        let source = clientOut.readable
        for field in head.fields {
            connection.responseFields.append(name: UnsafeRawBufferPointer(rebasing: source[field.name]),
                                             value: UnsafeRawBufferPointer(rebasing: source[field.value]))
        }
    }

    /// The kept response trailer lines (`name: value CRLF`…) as a field list.
    private func trailerFields() -> H2FieldList {
        var list = H2FieldList()
        responseTrailers.withUnsafeBytes { bytes in
            var start = 0
            while start < bytes.count {
                var end = start
                while end + 1 < bytes.count && !(bytes[end] == 0x0D && bytes[end + 1] == 0x0A) { end += 1 }
                if let colon = bytes[start..<end].firstIndex(of: UInt8(ascii: ":")) {
                    var valueStart = colon + 1
                    while valueStart < end && (bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09) { valueStart += 1 }
                    var valueEnd = end
                    while valueEnd > valueStart && (bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09) { valueEnd -= 1 }
                    list.append(name: UnsafeRawBufferPointer(rebasing: bytes[start..<colon]),
                                value: UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd]))
                }
                start = end + 2
            }
        }
        return list
    }

    // MARK: ExchangeClient

    func answer(_ status: Int) {
        clientOut.clear()
        writeErrorResponse(status: status, into: &clientOut)
        if let exchange {
            exchange.responseBytes = clientOut.readableCount
            exchange.record(status: status, answeredBy: .proxy)
        }
        phase = .answered
        releaseExchange()
    }

    /// A request whose translated head did not parse: answered and counted like an HTTP/1 one.
    private func answerUnrouted(_ status: Int) {
        clientOut.clear()
        writeErrorResponse(status: status, into: &clientOut)
        recordUnroutedAnswer(status: status, headStarted: nil)
        clientIn.clear()
        phase = .answered
    }

    func cut() {
        guard phase == .exchanging || phase == .answered || phase == .finished else { return }
        if phase == .exchanging, let exchange {
            let (status, source) = exchange.machine.cutStatus
            exchange.record(status: status, answeredBy: source)
        }
        codec.reset(stream: id, error: H2ErrorCode.internalError)
        phase = .closed
        clientOut.clear()
        releaseExchange()
    }

    func exchangeFinished(closing: Bool) {
        phase = .finished
        releaseExchange()
    }

    /// HTTP/2 carries no Upgrade (the translated head has none): never asked; cut if it were.
    func enterTunnel() { cut() }

    /// The exchange moved (its upstream's event, a timeout): step this stream, then the rest.
    func drive() {
        connection.wake(self)
        connection.drive()
    }

    /// The client reset the stream, or the connection is going: whatever runs is let go.
    func cancel() {
        if phase == .exchanging, let exchange {
            let (status, source) = exchange.machine.cutStatus
            exchange.record(status: status, answeredBy: source)
        }
        phase = .closed
        clientIn.clear()
        clientOut.clear()
        releaseExchange()
    }

    private func releaseExchange() {
        guard let exchange else { return }
        self.exchange = nil
        exchange.release()
    }

    /// The stream is gone: buffers back to the pool, ready for the next stream.
    func reset() {
        cancel()
        clientIn.releaseIfEmpty()
        clientOut.releaseIfEmpty()
    }

    /// When this stream's exchange must have moved again (`.max` when it waits on nothing).
    var deadline: UInt64 {
        guard phase == .exchanging, let exchange else { return .max }
        return exchange.deadline(lastActivity: lastActivity)
    }

    func timerFired(now: UInt64) {
        guard phase == .exchanging, let exchange, deadline <= now else { return }
        exchange.timedOut()
    }
}

import EventLoop
import HTTP2
import Transport

/// An HTTP/2 client connection: its transport, the codec (nghttp2, over memory), and one
/// `H2ClientStream` — each with its own exchange — per request in flight. It took over the
/// socket from a `ClientConnection` once ALPN chose `h2` (or the h2c preface arrived). Like the
/// HTTP/1 connection it is a pump: `drive()` reads, feeds the codec, lets every stream move its
/// bytes, and writes the frames out, until nothing changes. A slow stream holds up only itself:
/// its exchange stops reading its upstream while the codec holds a high-water mark of its
/// answer, and its client's window reopens only as its request body is forwarded.
final class H2Connection {
    // A strong `let`: read through a live object it costs nothing (the compiler borrows it), where
    // an unowned(unsafe) load costs a retain/release pair per access. The cycle with the worker's
    // tables ends at `Worker.tearDown`.
    let worker: Worker
    let clock: LoopClock
    var stream: ByteStream
    var fd: Int32 { stream.fd }
    let generation: UInt32
    let peer: SocketAddress
    let listener: Listener
    let codec: H2ServerCodec
    /// Bytes read and not yet taken by the codec; frames not yet written.
    private var input: ByteBuffer
    private var output: ByteBuffer
    private var streams: [H2StreamID: H2ClientStream] = [:]
    private var spareStreams: [H2ClientStream] = []
    /// Streams with something to do: a frame of theirs arrived, their upstream or a timer moved
    /// them. `drive` steps these, not every open stream: a connection may carry a hundred, and
    /// one stream's event is no news to the others.
    private var awake: [H2ClientStream] = []
    /// Streams whose answer waits for the codec to send what it holds for them: woken when
    /// frames go out.
    private var waitingForRoom: [H2ClientStream] = []
    /// The fields of a response head being translated (storage kept across responses).
    var responseFields = H2FieldList()

    private var lastActivity: UInt64
    private var queuedDeadline = QueuedDeadline()
    /// The worker is stopping (or a stop is coming): GOAWAY sent, no new streams after the last.
    private(set) var shutdownPending = false
    /// When the final GOAWAY goes (a round trip after the first), if one is due.
    private var finalGoAwayAt: UInt64?
    /// Our FIN is sent; what the client still sends is dropped until it closes or this passes.
    private var lingerDeadline: UInt64?
    /// A fatal error: nothing more is read; what is queued (the GOAWAY last) goes out until this
    /// passes, then the connection closes.
    private var flushDeadline: UInt64?
    private var closed = false

    /// Takes over `connection`'s socket and the bytes it already read.
    init(replacing connection: ClientConnection, codec: H2ServerCodec, generation: UInt32) {
        worker = connection.worker
        clock = connection.clock
        stream = connection.stream
        peer = connection.peer
        listener = connection.listener
        self.codec = codec
        self.generation = generation
        input = ByteBuffer(pool: connection.worker.bufferPool)
        output = ByteBuffer(pool: connection.worker.bufferPool)
        swap(&input, &connection.clientIn)
        lastActivity = connection.now
    }

    /// The codec for a new connection, with the listener's limits.
    static func makeCodec(_ settings: ProxySettings) -> H2ServerCodec? {
        var h2 = H2Settings()
        h2.maxConcurrentStreams = UInt32(settings.http2MaxConcurrentStreams)
        h2.initialWindowSize = UInt32(settings.http2StreamWindow)
        h2.connectionWindowSize = max(h2.connectionWindowSize, UInt32(settings.http2StreamWindow))
        h2.maxHeaderListSize = UInt32(settings.http2MaxHeaderList)
        return try? H2ServerCodec(settings: h2)
    }

    var now: UInt64 { clock.now }

    // MARK: events

    func event(_ events: IOEvents) {
        stream.note(events)
        drive()
    }

    /// Makes all the progress possible now.
    func drive() {
        guard !closed else { return }
        if lingerDeadline != nil {
            linger()
            return
        }
        if flushDeadline != nil {
            flushBeforeClosing()
            return
        }
        var progress = true
        while progress && !closed {
            progress = false
            if readAndReceive() { progress = true }
            if flushDeadline != nil {
                flushBeforeClosing()
                return
            }
            if handleEvents() { progress = true }
            stepAwakeStreams()
            if writeOut() {
                progress = true
                wakeStreamsWaitingForRoom()
            }
            if codec.hasOutput && output.readableCount < highWaterMark { progress = true }
        }
        guard !closed else { return }
        // Done both ways (a GOAWAY exchanged and no stream left, or a connection error): close.
        if !codec.wantsRead && !codec.wantsWrite && output.isEmpty && !stream.hasPendingOutput {
            beginLingering()
            return
        }
        ensureTimer()
    }

    /// Queues `s` for the next step (once, however often it is woken).
    func wake(_ s: H2ClientStream) {
        guard !s.isAwake else { return }
        s.isAwake = true
        awake.append(s)
    }

    /// `s` stopped because the codec holds enough of its answer: woken when frames go out.
    func waitForRoom(_ s: H2ClientStream) {
        guard !s.waitsForRoom else { return }
        s.waitsForRoom = true
        waitingForRoom.append(s)
    }

    private func wakeAllStreams() {
        for (_, s) in streams { wake(s) }
    }

    private func stepAwakeStreams() {
        while let s = awake.popLast() {
            s.isAwake = false
            s.step()
        }
    }

    private func wakeStreamsWaitingForRoom() {
        while let s = waitingForRoom.popLast() {
            s.waitsForRoom = false
            wake(s)
        }
    }

    /// Reads what the socket has and feeds it to the codec.
    private func readAndReceive() -> Bool {
        var progress = false
        if input.isEmpty && codec.wantsRead {
            switch stream.read(into: &input) {
            case .data:
                lastActivity = now
                progress = true
            case .endOfStream, .failed:
                close(reset: false)
                return false
            case .nothing:
                input.releaseIfEmpty()
            }
        }
        if !input.isEmpty {
            do {
                let taken = try codec.receive(input.readable)
                input.consume(taken)
                progress = progress || taken > 0
            } catch {
                // A bad preface or a flood: a GOAWAY says why (nghttp2 queues none for these),
                // then the connection closes.
                input.clear()
                codec.goAway(error: error == .flooded ? H2ErrorCode.enhanceYourCalm : H2ErrorCode.protocolError)
                flushDeadline = now &+ 5_000_000_000  // bounded: a flooder holds its socket this long at most
                return false
            }
        }
        return progress
    }

    /// The codec's events: new streams, their bodies and ends, resets, closes.
    private func handleEvents() -> Bool {
        guard !codec.events.isEmpty else { return false }
        for event in codec.events {
            switch event {
            case .request(let head):
                if worker.answersClose && !shutdownPending { beginShutdown() }
                let s = spareStreams.popLast() ?? H2ClientStream(connection: self)
                streams[head.stream] = s
                s.start(head)
                wake(s)
            case .data(let id, let bytes):
                guard let s = streams[id] else { codec.consumed(stream: id, bytes: bytes.count); continue }
                codec.inbound.bytes.withUnsafeBytes { s.receiveBody(UnsafeRawBufferPointer(rebasing: $0[bytes])) }
                wake(s)
            case .trailers(let id, let fields):
                guard let s = streams[id] else { continue }
                s.receiveTrailers(fields, codec.inbound)
                wake(s)
            case .requestEnd(let id):
                guard let s = streams[id] else { continue }
                s.receiveEnd()
                wake(s)
            case .reset(let id, _):
                streams[id]?.cancel()
            case .closed(let id, _):
                if let s = streams.removeValue(forKey: id) {
                    s.reset()
                    if spareStreams.count < 32 { spareStreams.append(s) }
                }
            case .goAway:
                break  // the client opens no more streams; those in flight finish
            case .connectionError:
                shutdownPending = true
            }
        }
        codec.clearEvents()
        return true
    }

    /// After a fatal error: what the client still sends is read and dropped (so a client busy
    /// sending gets to reading), what is queued goes out, the GOAWAY last; then the close.
    private func flushBeforeClosing() {
        while case .data = stream.read(into: &input) { input.clear() }
        input.releaseIfEmpty()
        _ = writeOut()
        guard !closed else { return }
        if output.isEmpty && !codec.hasOutput && !stream.hasPendingOutput { beginLingering() } else { ensureTimer() }
    }

    /// Frames out of the codec into `output`, `output` into the socket.
    private func writeOut() -> Bool {
        var progress = false
        while codec.hasOutput && output.readableCount < highWaterMark {
            let produced: Int
            do {
                produced = try codec.produce(into: output.writableSpace(minimum: 16384))
            } catch {
                close(reset: true)
                return false
            }
            guard produced > 0 else { break }
            output.didWrite(produced)
            progress = true
        }
        if !output.isEmpty || stream.hasPendingOutput {
            switch stream.write(from: &output) {
            case .wrote:
                lastActivity = now
                progress = true
            case .failed:
                close(reset: true)
                return false
            case .nothing:
                break
            }
        }
        output.releaseIfEmpty()
        return progress
    }

    // MARK: timers

    /// Answer bytes wait for a client that is not taking them (not read off the socket, or held
    /// back by its flow-control windows).
    private var clientBacklog: Bool {
        !output.isEmpty || codec.hasOutput || codec.bufferedBodyTotal > 0
    }

    private var deadline: UInt64 {
        if let lingerDeadline { return lingerDeadline }
        if let flushDeadline { return flushDeadline }
        var due = finalGoAwayAt ?? .max
        if streams.isEmpty {
            due = min(due, lastActivity &+ worker.settings.idleTimeout)
        } else {
            for (_, s) in streams { due = min(due, s.deadline) }
            // Bytes queued for a client that takes nothing (a zero window) wait at most `idle`.
            if clientBacklog { due = min(due, lastActivity &+ worker.settings.idleTimeout) }
        }
        return due
    }

    private func ensureTimer() {
        queuedDeadline.ensure(deadline, worker: worker, fd: fd, generation: generation)
    }

    func timerFired() {
        queuedDeadline.fired(now: now)
        guard !closed else { return }
        if let lingerDeadline {
            if lingerDeadline <= now { close(reset: false) } else { ensureTimer() }
            return
        }
        if let flushDeadline {
            if flushDeadline <= now { close(reset: true) } else { drive() }
            return
        }
        if let at = finalGoAwayAt, at <= now {
            finalGoAwayAt = nil
            codec.goAway()
        }
        for (_, s) in streams { s.timerFired(now: now) }
        wakeAllStreams()  // rare: once per timer, not per event
        if streams.isEmpty && lastActivity &+ worker.settings.idleTimeout <= now {
            // Idle: a GOAWAY, then the close.
            codec.goAway()
            _ = writeOut()
            beginLingering()
            return
        }
        if !streams.isEmpty && clientBacklog && lastActivity &+ worker.settings.idleTimeout <= now {
            close(reset: true)  // a client that stopped reading, or keeps its windows shut
            return
        }
        drive()
    }

    // MARK: shutting down

    /// The worker is stopping, or a stop is coming: a GOAWAY at once (no new streams, please),
    /// the final one with the last stream id a second later; streams in flight finish.
    func shutdownRequested() {
        guard !shutdownPending else { return }
        beginShutdown()
        wakeAllStreams()
        drive()
    }

    private func beginShutdown() {
        shutdownPending = true
        codec.beginGracefulShutdown()
        finalGoAwayAt = now &+ 1_000_000_000
    }

    /// A reload removed the backend some streams use: they may last until `deadline`.
    func drain(backendID: Int, until deadline: UInt64) {
        for (_, s) in streams where s.exchange?.attempts.claim?.id == backendID { s.exchange?.drain(until: deadline) }
        ensureTimer()
    }

    /// The stop deadline passed: streams still running are cut, the connection closes.
    func stopNow() {
        close(reset: true)
    }

    /// Our FIN goes out (after TLS's close_notify); what the client still sends is dropped for a
    /// moment, so a frame racing our close meets an EOF, not an RST.
    private func beginLingering() {
        for (_, s) in streams { s.cancel() }
        streams.removeAll()
        _ = stream.finish()
        lingerDeadline = now &+ 500_000_000
        stream.assumeReadable()
        linger()
    }

    private func linger() {
        while true {
            switch stream.readRaw(into: &input) {
            case .data:
                input.clear()
            case .endOfStream, .failed:
                close(reset: false)
                return
            case .nothing:
                input.releaseIfEmpty()
                ensureTimer()
                return
            }
        }
    }

    private func close(reset: Bool) {
        guard !closed else { return }
        closed = true
        for (_, s) in streams { s.cancel() }
        streams.removeAll()
        spareStreams.removeAll()
        input.clear()
        output.clear()
        input.releaseIfEmpty()
        output.releaseIfEmpty()
        worker.close(fd, reset: reset)
        worker.connectionClosed(listener)
    }
}

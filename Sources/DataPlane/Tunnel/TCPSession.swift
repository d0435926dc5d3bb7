import Balancer
import EventLoop
import Transport
import Metrics

/// One client connection on a `protocol: tcp` listener: bytes relayed both ways to one backend
/// through kernel pipes with splice(2), so payload never enters user space. Each direction's EOF
/// becomes a half-close on the other side once the pipe has drained.
final class TCPSession {
    /// One direction of the relay: source socket → pipe → sink socket.
    struct Direction {
        var pipeRead: Int32 = -1
        var pipeWrite: Int32 = -1
        var pending = 0
        var sourceEOF = false
        var shut = false
    }

    // A strong `let`: read through a live object it costs nothing (the compiler borrows it), where
    // an unowned(unsafe) load costs a retain/release pair per access. The cycle with the worker's
    // tables ends at `Worker.tearDown`.
    let worker: Worker
    let clock: LoopClock
    private var client: ByteStream
    var clientFD: Int32 { client.fd }
    private var clientGeneration: UInt32 = 0
    let listener: Listener
    /// Its stream gives the descriptor and readiness: splice moves the bytes, never TLS.
    private var upstream: UpstreamConnection?
    private var toUpstream = Direction()
    private var toClient = Direction()
    private var attempts = BackendAttempts()
    private var attemptCount = 0
    private var poolIndex: Int?
    /// The backend this connection is counted in flight on, while it is.
    var claim: InFlightClaim? { attempts.claim }
    private var drainDeadline: UInt64 = .max
    /// The routing snapshot this connection was routed under (`poolIndex` refers to it).
    private var routing: WorkerRouting
    private var lastActivity: UInt64 = 0
    private var queuedDeadline = QueuedDeadline()
    private var closed = false

    /// The default pipe size: what one splice can hold before the sink must drain it.
    static let pipeCapacity = 65536

    init(worker: Worker, fd: Int32, listener: Listener) {
        self.worker = worker
        clock = worker.loop.clock
        client = ByteStream(fd: fd)
        self.listener = listener
        routing = worker.routing
    }

    func start(generation: UInt32) {
        clientGeneration = generation
        lastActivity = clock.now
        do {
            (toUpstream.pipeRead, toUpstream.pipeWrite) = try Splice.makePipe()
            (toClient.pipeRead, toClient.pipeWrite) = try Splice.makePipe()
        } catch {
            closeBoth()
            return
        }
        routing = worker.routing
        guard let route = listener.routeIndex, let pool = routing.pickPool(route: route) else {
            closeBoth()
            return
        }
        poolIndex = pool
        connect()
        ensureTimer()
    }

    /// A backend of the pool, by the same connector as HTTP exchanges (never an idle connection:
    /// a relay owns its upstream socket for good).
    private func connect() {
        guard let pool = poolIndex else { return }
        let outcome = Connector(worker: worker).connect(
            pool: pool, routing: routing, attempts: &attempts, owner: .tcp(self), reuse: false,
            attempt: {
                guard attemptCount < ExchangeMachine.maxAttempts else { return false }
                attemptCount += 1
                return true
            },
            refused: { id in worker.upstreamError(.connect, backendID: id, pool: pool, routing: routing) })
        switch outcome {
        case .connection(let connection):
            upstream = connection
            lastActivity = clock.now
        case .localShortage, .exhausted:
            closeBoth()  // our own shortage is not the backend's failure; no backend left is the end
        }
    }

    func event(fd: Int32, events: IOEvents) {
        if fd == clientFD {
            client.note(events)
        } else if let u = upstream {
            if !u.connected {
                guard events.writable || events.hangup else { return }
                if Socket.pendingError(u.fd) != 0 {
                    connectFailed()
                    return
                }
                u.connected = true
            }
            u.stream.note(events)
        }
        pump()
    }

    /// The connect failed (or timed out): nothing was relayed yet, so another backend may take it.
    private func connectFailed() {
        if let claim, let pool = poolIndex {
            worker.upstreamError(.connect, backendID: claim.id, pool: pool, routing: routing)
        }
        if let u = upstream { worker.close(u.fd, reset: true) }
        upstream = nil
        connect()
    }

    private func pump() {
        guard !closed, let u = upstream, u.connected else { return }
        var progress = true
        while progress && !closed {
            progress = false
            if relay(&toUpstream, from: &client, to: &u.stream) { progress = true }
            if relay(&toClient, from: &u.stream, to: &client) { progress = true }
            if progress { lastActivity = clock.now }
            if toUpstream.shut && toClient.shut { closeBoth() }
        }
        if !closed { ensureTimer() }
    }

    /// One step of one direction; returns whether anything moved.
    private func relay(_ d: inout Direction, from source: inout ByteStream, to sink: inout ByteStream) -> Bool {
        var progress = false
        if !d.sourceEOF && source.readable && d.pending < TCPSession.pipeCapacity {
            let room = TCPSession.pipeCapacity - d.pending
            do {
                switch try Splice.move(from: source.fd, to: d.pipeWrite, count: room) {
                case .wouldBlock:
                    // EAGAIN can also mean the pipe ran out of slots; only an empty pipe proves
                    // the socket is drained.
                    if d.pending == 0 { source.drained() }
                case .processed(0):
                    d.sourceEOF = true
                    progress = true
                case .processed(let n):
                    d.pending += n
                    if n < room && !source.sawHangup { source.drained() }
                    progress = true
                }
            } catch {
                closeBoth(reset: true)
                return false
            }
        }
        if d.pending > 0 && sink.writable {
            do {
                switch try Splice.move(from: d.pipeRead, to: sink.fd, count: d.pending) {
                case .wouldBlock:
                    sink.full()
                case .processed(let n):
                    d.pending -= n
                    progress = true
                }
            } catch {
                closeBoth(reset: true)
                return false
            }
        }
        if d.sourceEOF && d.pending == 0 && !d.shut {
            d.shut = true
            Socket.shutdownWrite(sink.fd)
            progress = true
        }
        return progress
    }

    private func ensureTimer() {
        queuedDeadline.ensure(deadline, worker: worker, fd: clientFD, generation: clientGeneration)
    }

    private var deadline: UInt64 {
        min(lastActivity &+ ((upstream?.connected ?? false) ? worker.settings.idleTimeout : worker.settings.connectTimeout), drainDeadline)
    }

    func timerFired() {
        queuedDeadline.fired(now: clock.now)
        guard !closed else { return }
        if deadline > clock.now {
            ensureTimer()
            return
        }
        if let u = upstream, !u.connected {
            connectFailed()
            if !closed { ensureTimer() }
            return
        }
        closeBoth()
    }


    /// A reload removed this connection's backend: it may stay open until `deadline`.
    func drain(until deadline: UInt64) {
        guard claim != nil, deadline < drainDeadline else { return }
        drainDeadline = deadline
        ensureTimer()
    }

    func closeBoth(reset: Bool = false) {
        guard !closed else { return }
        closed = true
        attempts.release(worker)
        for fd in [toUpstream.pipeRead, toUpstream.pipeWrite, toClient.pipeRead, toClient.pipeWrite] where fd >= 0 {
            Socket.close(fd)
        }
        if let u = upstream {
            upstream = nil
            worker.close(u.fd, reset: reset)
        }
        worker.close(clientFD, reset: reset)
        worker.connectionClosed(listener)
    }
}

import Balancer
import EventLoop
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

    // unowned(unsafe): the worker outlives every session it owns, and a checked unowned
    // reference costs a retain/release pair per access on the hot path.
    unowned(unsafe) let worker: Worker
    let clientFD: Int32
    private var clientGeneration: UInt32 = 0
    let listener: Listener
    private var upstreamFD: Int32 = -1
    private var upstreamConnected = false
    private var clientReadable = false, clientWritable = true, clientHangup = false
    private var upstreamReadable = false, upstreamWritable = false, upstreamHangup = false
    private var toUpstream = Direction()
    private var toClient = Direction()
    private var tried = TriedSet()
    private var attempts = 0
    private var poolIndex = -1
    /// The backend this connection is counted in flight on, while it is.
    private(set) var claim: InFlightClaim?
    private var drainDeadline: UInt64 = .max
    /// The routing snapshot this connection was routed under (`poolIndex` refers to it).
    private var routing: WorkerRouting
    private var lastActivity: UInt64 = 0
    private var queuedDeadline: UInt64 = .max
    private var closed = false

    /// The default pipe size: what one splice can hold before the sink must drain it.
    static let pipeCapacity = 65536

    init(worker: Worker, fd: Int32, listener: Listener) {
        self.worker = worker
        self.clientFD = fd
        self.listener = listener
        routing = worker.routing
    }

    func start(generation: UInt32) {
        clientGeneration = generation
        lastActivity = worker.loop.now
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

    private func connect() {
        let pool = routing.table.pools[poolIndex]
        while attempts < HTTPSession.maxAttempts {
            guard let backend = routing.pickBackend(pool: poolIndex, excluding: tried) else { break }
            tried.insert(backend)
            attempts += 1
            releaseInFlight()
            claim = InFlightClaim(routing: routing, pool: poolIndex, backend: backend, worker: worker)
            let opened: (fd: Int32, generation: UInt32, connected: Bool)
            switch worker.openUpstream(to: pool.backends[backend].address, as: .tcp(self)) {
            case .success(let result):
                opened = result
            case .failure(.localShortage):
                closeBoth()  // our own shortage: not the backend's failure
                return
            case .failure(.refused):
                worker.upstreamError(.connect, backendID: pool.backends[backend].id, pool: poolIndex, routing: routing)
                continue
            }
            upstreamFD = opened.fd
            upstreamConnected = opened.connected
            upstreamWritable = opened.connected
            lastActivity = worker.loop.now
            return
        }
        closeBoth()
    }

    func event(fd: Int32, events: IOEvents) {
        if fd == clientFD {
            if events.readable { clientReadable = true }
            if events.readHangup || events.hangup { clientHangup = true }
            if events.writable { clientWritable = true }
        } else {
            if !upstreamConnected {
                guard events.writable || events.hangup else { return }
                if Socket.pendingError(upstreamFD) != 0 {
                    if let claim { worker.upstreamError(.connect, backendID: claim.id, pool: poolIndex, routing: routing) }
                    // Nothing was relayed yet: another backend may take it.
                    worker.close(upstreamFD, reset: true)
                    upstreamFD = -1
                    connect()
                    return
                }
                upstreamConnected = true
            }
            if events.readable { upstreamReadable = true }
            if events.readHangup || events.hangup { upstreamHangup = true }
            if events.writable { upstreamWritable = true }
        }
        pump()
    }

    private func pump() {
        guard !closed, upstreamConnected else { return }
        var progress = true
        while progress && !closed {
            progress = false
            if relay(&toUpstream, from: clientFD, readable: &clientReadable, hangup: clientHangup,
                     to: upstreamFD, writable: &upstreamWritable) { progress = true }
            if relay(&toClient, from: upstreamFD, readable: &upstreamReadable, hangup: upstreamHangup,
                     to: clientFD, writable: &clientWritable) { progress = true }
            if progress { lastActivity = worker.loop.now }
            if toUpstream.shut && toClient.shut { closeBoth() }
        }
        if !closed { ensureTimer() }
    }

    /// One step of one direction; returns whether anything moved.
    private func relay(_ d: inout Direction, from source: Int32, readable: inout Bool, hangup: Bool,
                       to sink: Int32, writable: inout Bool) -> Bool {
        var progress = false
        if !d.sourceEOF && readable && d.pending < TCPSession.pipeCapacity {
            let room = TCPSession.pipeCapacity - d.pending
            do {
                switch try Splice.move(from: source, to: d.pipeWrite, count: room) {
                case .wouldBlock:
                    // EAGAIN can also mean the pipe ran out of slots; only an empty pipe proves
                    // the socket is drained.
                    if d.pending == 0 { readable = false }
                case .processed(0):
                    d.sourceEOF = true
                    progress = true
                case .processed(let n):
                    d.pending += n
                    if n < room && !hangup { readable = false }
                    progress = true
                }
            } catch {
                closeBoth(reset: true)
                return false
            }
        }
        if d.pending > 0 && writable {
            do {
                switch try Splice.move(from: d.pipeRead, to: sink, count: d.pending) {
                case .wouldBlock:
                    writable = false
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
            Socket.shutdownWrite(sink)
            progress = true
        }
        return progress
    }

    /// As in `HTTPSession`: a later deadline re-arms lazily, an earlier one adds an entry.
    private func ensureTimer() {
        let due = deadline
        guard due < queuedDeadline else { return }
        queuedDeadline = due
        worker.loop.schedule(deadline: due, token: worker.timerToken(fd: clientFD, generation: clientGeneration))
    }

    private var deadline: UInt64 {
        min(lastActivity &+ (upstreamConnected ? worker.settings.idleTimeout : worker.settings.connectTimeout), drainDeadline)
    }

    func timerFired() {
        if queuedDeadline <= worker.loop.now { queuedDeadline = .max }
        guard !closed else { return }
        if deadline > worker.loop.now {
            ensureTimer()
            return
        }
        if !upstreamConnected && upstreamFD >= 0 {
            worker.close(upstreamFD, reset: true)
            upstreamFD = -1
            connect()
            if !closed { ensureTimer() }
            return
        }
        closeBoth()
    }

    private func releaseInFlight() {
        claim?.release(worker)
        claim = nil
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
        releaseInFlight()
        for fd in [toUpstream.pipeRead, toUpstream.pipeWrite, toClient.pipeRead, toClient.pipeWrite] where fd >= 0 {
            Socket.close(fd)
        }
        if upstreamFD >= 0 { worker.close(upstreamFD, reset: reset) }
        worker.close(clientFD, reset: reset)
        worker.connectionClosed(listener)
    }
}

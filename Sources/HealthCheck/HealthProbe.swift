import EventLoop
import Glibc
import HTTP1

/// One probe in flight: a non-blocking connection driven by epoll events (edge-triggered, so
/// every step runs until the kernel would block). Owns its descriptor until the checker closes it
/// with `close(selector:)`. Confined to the checker thread.
///
/// `tcp`: passed once the connect completes. `http`: the request is written, then bytes are read
/// until a response head parses; the verdict is the status (1xx interim heads are skipped). The
/// body is never read: the connection is closed as soon as the head is judged. In a pool with
/// `tls:`, an `http` check handshakes first (a backend whose certificate does not verify fails
/// its check, as it fails its requests) and speaks through `ProbeTLS`.
struct HealthProbe {
    enum Phase: Equatable { case connecting, handshaking, writing, reading }

    /// What a probe came to so far.
    enum Outcome: Equatable {
        case pending
        case passed
        case failed
        /// The probe could not run for a reason on our side (out of descriptors, of memory, of
        /// ephemeral ports): no verdict, so a local shortage never marks backends down.
        case inconclusive
    }

    /// A probe that started, or how it ended before it needed the loop.
    enum Start {
        case running(HealthProbe)
        case ended(Outcome)
    }

    let fd: Int32
    private(set) var phase: Phase
    private var written = 0
    private let tlsSettings: HealthTLS?
    private var tls: ProbeTLS?

    private init(fd: Int32, phase: Phase, tls: HealthTLS?) {
        self.fd = fd
        self.phase = phase
        tlsSettings = tls
    }

    /// Opens the connection and registers it with `selector`. A connect that completes at once
    /// (possible on loopback) is driven forward immediately.
    static func start(to address: SocketAddress, request: HealthRequest, tls: HealthTLS? = nil, selector: Selector,
                      io: HealthProbeIO, received: inout [UInt8]) -> Start {
        let fd: Int32
        let connected: Bool
        do {
            (fd, connected) = try Socket.connect(to: address)
        } catch {
            return .ended(isLocalShortage(error.errno) ? .inconclusive : .failed)
        }
        do {
            try selector.register(fd, readable: true, writable: true)
        } catch {
            Socket.close(fd)
            return .ended(.inconclusive)
        }
        var probe = HealthProbe(fd: fd, phase: .connecting, tls: tls)
        guard connected else { return .running(probe) }
        let outcome = probe.connectionOpened(request: request, io: io, received: &received, readable: false)
        if outcome == .pending { return .running(probe) }
        probe.close(selector: selector)
        return .ended(outcome)
    }

    /// Drives the probe after an epoll event on its descriptor.
    mutating func advance(events: IOEvents, request: HealthRequest, io: HealthProbeIO,
                          received: inout [UInt8]) -> Outcome {
        switch phase {
        case .connecting:
            guard events.writable else { return .pending }
            guard Socket.pendingError(fd) == 0 else { return .failed }
            return connectionOpened(request: request, io: io, received: &received, readable: events.readable)
        case .handshaking:
            return handshake(request: request, io: io, received: &received)
        case .writing:
            return writeRequest(request, io: io, received: &received, readable: events.readable)
        case .reading:
            return readResponse(request, io: io, received: &received)
        }
    }

    /// Closes the descriptor; queued events for it become stale.
    func close(selector: Selector) {
        selector.forget(fd)
        Socket.close(fd)
    }

    private mutating func connectionOpened(request: HealthRequest, io: HealthProbeIO,
                                           received: inout [UInt8], readable: Bool) -> Outcome {
        if request.bytes.isEmpty { return .passed }
        if let settings = tlsSettings {
            guard let tls = ProbeTLS(settings) else { return .inconclusive }  // out of memory
            self.tls = tls
            phase = .handshaking
            return handshake(request: request, io: io, received: &received)
        }
        phase = .writing
        return writeRequest(request, io: io, received: &received, readable: readable)
    }

    private mutating func handshake(request: HealthRequest, io: HealthProbeIO, received: inout [UInt8]) -> Outcome {
        guard let tls else { return .failed }
        switch tls.handshake(fd, io: io) {
        case .pending: return .pending
        case .failed: return .failed
        case .done:
            phase = .writing
            return writeRequest(request, io: io, received: &received, readable: true)
        }
    }

    /// `readable`: whether the event being handled reported input. Only then is a read tried
    /// right after the request is out; otherwise it would almost always find nothing (the answer
    /// cannot precede the question), and edge-triggered epoll reports the answer when it comes.
    private mutating func writeRequest(_ request: HealthRequest, io: HealthProbeIO,
                                       received: inout [UInt8], readable: Bool) -> Outcome {
        if let tls {
            // Sealed once; then only what the socket has not taken yet goes out.
            let step = written == 0 ? tls.send(request.bytes, fd, io: io) : tls.flush(fd)
            written = request.bytes.count
            switch step {
            case .pending: return .pending
            case .failed: return .failed
            case .done: break
            }
            phase = .reading
            received.removeAll(keepingCapacity: true)
            return readResponse(request, io: io, received: &received)
        }
        while written < request.bytes.count {
            let result: IOResult<Int>
            do {
                result = try request.bytes.withUnsafeBytes { all throws(SyscallError) in
                    try Socket.write(fd, from: UnsafeRawBufferPointer(rebasing: all[written...]))
                }
            } catch {
                return .failed
            }
            guard case .processed(let count) = result else { return .pending }
            written += count
        }
        phase = .reading
        received.removeAll(keepingCapacity: true)
        return readable ? readResponse(request, io: io, received: &received) : .pending
    }

    private func readResponse(_ request: HealthRequest, io: HealthProbeIO,
                              received: inout [UInt8]) -> Outcome {
        if let tls {
            let step = tls.receive(fd, io: io, into: &received)
            let verdict = io.judge(&received, request: request)
            if verdict != .pending { return verdict }
            return step == .pending ? .pending : .failed  // closed (or broken) before a whole head
        }
        while true {
            let result: IOResult<Int>
            do {
                result = try Socket.read(fd, into: io.scratch)
            } catch {
                return .failed
            }
            switch result {
            case .wouldBlock:
                return .pending
            case .processed(0):
                return .failed   // closed before a whole head arrived
            case .processed(let count):
                received.append(contentsOf: UnsafeRawBufferPointer(rebasing: io.scratch[..<count]))
                let verdict = io.judge(&received, request: request)
                if verdict != .pending { return verdict }
            }
        }
    }

    private static func isLocalShortage(_ errno: Int32) -> Bool {
        errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM || errno == EADDRNOTAVAIL
    }
}

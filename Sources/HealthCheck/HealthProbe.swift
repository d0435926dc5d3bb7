import EventLoop
import Glibc
import TLS
import Transport

/// One probe in flight: a non-blocking connection driven by epoll events (edge-triggered, so
/// every step runs until the kernel would block), spoken through a `ByteStream` like every other
/// connection of the proxy. Owns its descriptor until the checker closes it with
/// `close(selector:)`; its buffers come from the checker's `BufferPool` and go back to it when the
/// probe ends. Confined to the checker thread.
///
/// `tcp`: passed once the connect completes. `http`: the request is written, then bytes are read
/// until a response head parses; the verdict is the status (1xx interim heads are skipped). The
/// body is never read: the connection is closed as soon as the head is judged. In a pool with
/// `tls:`, an `http` check handshakes first (a backend whose certificate does not verify fails
/// its check, as it fails its requests) and the stream speaks TLS through its `SecureChannel`.
///
/// Noncopyable (it holds its buffers), so it lives in place in its `HealthSlot`: no allocation of
/// its own.
struct HealthProbe: ~Copyable {
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
    enum Start: ~Copyable {
        case running(HealthProbe)
        case ended(Outcome)
    }

    private(set) var phase: Phase
    private var stream: ByteStream
    /// The request not yet taken by the stream.
    private var output: ByteBuffer
    /// The response bytes read so far (interim heads dropped).
    private var input: ByteBuffer

    var fd: Int32 { stream.fd }

    private init(stream: ByteStream, pool: BufferPool) {
        self.stream = stream
        phase = .connecting
        output = ByteBuffer(pool: pool)
        input = ByteBuffer(pool: pool)
    }

    /// Opens the connection and registers it with `selector`. A connect that completes at once
    /// (possible on loopback) is driven forward immediately.
    static func start(to address: SocketAddress, request: HealthRequest, tls: HealthTLS? = nil, selector: Selector,
                      io: HealthProbeIO) -> Start {
        // Only an `http` check speaks TLS: a `tcp` check of a TLS pool passes on the connect.
        var secure: SecureChannel?
        if let tls, !request.bytes.isEmpty {
            guard let connection = try? TLSConnection(client: tls.context, serverName: tls.serverName) else {
                return .ended(.inconclusive)  // out of memory
            }
            secure = SecureChannel(connection, pool: io.pool)
        }
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
        var probe = HealthProbe(stream: ByteStream(fd: fd, secure: secure, writable: connected), pool: io.pool)
        guard connected else { return .running(probe) }
        let outcome = probe.connectionOpened(request: request, io: io)
        if outcome == .pending { return .running(probe) }
        probe.close(selector: selector)
        return .ended(outcome)
    }

    /// Drives the probe after an epoll event on its descriptor.
    mutating func advance(events: IOEvents, request: HealthRequest, io: HealthProbeIO) -> Outcome {
        stream.note(events)
        switch phase {
        case .connecting:
            guard events.writable else { return .pending }
            guard Socket.pendingError(fd) == 0 else { return .failed }
            return connectionOpened(request: request, io: io)
        case .handshaking:
            return handshake(request: request, io: io)
        case .writing:
            return writeRequest(request, io: io)
        case .reading:
            return readResponse(request, io: io)
        }
    }

    /// Closes the descriptor (queued events for it become stale) and gives the buffers back.
    consuming func close(selector: Selector) {
        selector.forget(stream.fd)
        Socket.close(stream.fd)
    }

    private mutating func connectionOpened(request: HealthRequest, io: HealthProbeIO) -> Outcome {
        if request.bytes.isEmpty { return .passed }
        output.append(request.bytes)
        phase = .handshaking
        return handshake(request: request, io: io)
    }

    /// A plaintext stream is past its handshake at once.
    private mutating func handshake(request: HealthRequest, io: HealthProbeIO) -> Outcome {
        switch stream.handshake() {
        case .pending: return .pending
        case .failed: return .failed
        case .done:
            phase = .writing
            return writeRequest(request, io: io)
        }
    }

    /// Then reads at once: a read finds nothing unless an event reported input (the stream's
    /// readable flag), and edge-triggered epoll reports the answer when it comes.
    private mutating func writeRequest(_ request: HealthRequest, io: HealthProbeIO) -> Outcome {
        while !output.isEmpty || stream.hasPendingOutput {
            switch stream.write(from: &output) {
            case .wrote: continue
            case .nothing: return .pending
            case .failed: return .failed
            }
        }
        output.releaseIfEmpty()
        phase = .reading
        return readResponse(request, io: io)
    }

    private mutating func readResponse(_ request: HealthRequest, io: HealthProbeIO) -> Outcome {
        while true {
            switch stream.read(into: &input) {
            case .data:
                let verdict = io.judge(&input, request: request)
                if verdict != .pending { return verdict }
            case .nothing:
                return .pending
            case .endOfStream, .failed:
                return .failed  // closed (or broken) before a whole head arrived
            }
        }
    }

    private static func isLocalShortage(_ errno: Int32) -> Bool {
        errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM || errno == EADDRNOTAVAIL
    }
}

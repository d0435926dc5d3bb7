import EventLoop
import Glibc
import Synchronization

/// A loopback backend for health probes, on a thread of its own driven by poll(2): it waits on the
/// kernel, never sleeps. It counts what it sees so tests can tie a checker's verdicts to the exact
/// number of probes behind them.
final class TestBackend: Sendable {
    enum Behavior: Sendable {
        /// Reads a request head, answers `status` (settable) and closes.
        case answer
        /// Accepts and holds the connection without ever answering.
        case silent
        /// Accepts and closes at once (a `tcp` check's backend).
        case acceptAndClose
    }

    let address: SocketAddress
    var port: UInt16 { address.port }

    /// The status the next answers carry.
    let status = Atomic<Int>(200)
    let accepted = Atomic<Int>(0)
    let answered = Atomic<Int>(0)
    /// Answers whose status was not 2xx/3xx.
    let answeredBad = Atomic<Int>(0)
    /// The request heads received, for tests that look at what a probe sends.
    let requests = Locked<[String]>([])
    /// Monotonic time of every accept.
    let acceptTimes = Locked<[UInt64]>([])

    private let listener: Int32
    private let wakeWrite: Int32
    private let thread = Locked<LoopThread?>(nil)

    init(_ behavior: Behavior = .answer, status: Int = 200) throws {
        let any = try unwrap(SocketAddress(ip: "127.0.0.1", port: 0))
        listener = try Socket.listen(on: any, backlog: 1024, reusePort: false)
        address = try unwrap(Socket.localAddress(listener))
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SyscallError("pipe", errno: errno) }
        wakeWrite = fds[1]
        self.status.store(status, ordering: .relaxed)
        let serving = Serving(backend: self, behavior: behavior, listener: listener, wakeRead: fds[0])
        thread.withLock { $0 = LoopThread(name: "test-backend") { serving.run() } }
    }

    /// Closes the listener (new connects are refused) and every open connection; waits for the
    /// thread. Idempotent.
    func stop() {
        guard let running = thread.withLock({ t -> LoopThread? in defer { t = nil }; return t }) else { return }
        var one: UInt8 = 1
        _ = Glibc.write(wakeWrite, &one, 1)
        running.join()
        Glibc.close(wakeWrite)
    }

    deinit { stop() }

    fileprivate func recordAccept() {
        accepted.add(1, ordering: .relaxed)
        acceptTimes.withLock { $0.append(MonotonicClock.now()) }
    }
}

/// The serving thread's state; only that thread touches it after the hand-off.
private final class Serving: @unchecked Sendable {
    let backend: TestBackend
    let behavior: TestBackend.Behavior
    let listener: Int32
    let wakeRead: Int32
    var connections: [(fd: Int32, head: [UInt8])] = []

    init(backend: TestBackend, behavior: TestBackend.Behavior, listener: Int32, wakeRead: Int32) {
        self.backend = backend
        self.behavior = behavior
        self.listener = listener
        self.wakeRead = wakeRead
    }

    func run() {
        var entries: [pollfd] = []
        while true {
            entries.removeAll(keepingCapacity: true)
            entries.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            entries.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
            for c in connections { entries.append(pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)) }
            let rc = poll(&entries, nfds_t(entries.count), -1)
            if rc < 0 && errno == EINTR { continue }
            if entries[0].revents != 0 { break }
            var closed: Set<Int32> = []
            for (i, entry) in entries.enumerated().dropFirst(2) where entry.revents != 0 {
                if serve(index: i - 2) { closed.insert(entry.fd) }
            }
            connections.removeAll { closed.contains($0.fd) }
            if entries[1].revents != 0 { acceptAll() }
        }
        Socket.close(listener)
        for c in connections { Socket.close(c.fd) }
        Glibc.close(wakeRead)
    }

    private func acceptAll() {
        while case .processed(let client)? = try? Socket.accept(listener) {
            backend.recordAccept()
            if behavior == .acceptAndClose {
                Socket.close(client.fd)
            } else {
                connections.append((client.fd, []))
            }
        }
    }

    /// Reads what arrived on connection `index`; returns true when it was closed.
    private func serve(index: Int) -> Bool {
        let fd = connections[index].fd
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n <= 0 {
            Socket.close(fd)
            return true
        }
        guard behavior == .answer else { return false }
        connections[index].head.append(contentsOf: chunk[0..<n])
        let head = connections[index].head
        guard head.count >= 4, head.suffix(4) == [13, 10, 13, 10] else { return false }
        let text = String(decoding: head, as: UTF8.self)
        backend.requests.withLock { $0.append(text) }
        let status = backend.status.load(ordering: .relaxed)
        if !(200...399).contains(status) { backend.answeredBad.add(1, ordering: .relaxed) }
        backend.answered.add(1, ordering: .relaxed)
        let response = Array("HTTP/1.1 \(status) Test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8)
        _ = response.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        Socket.close(fd)
        return true
    }
}

/// A nil where a test needed a value.
struct MissingValue: Error {}

/// Unwraps or throws; for test infrastructure outside a test function.
func unwrap<T>(_ value: T?) throws -> T {
    guard let value else { throw MissingValue() }
    return value
}

import CLinux
import EventLoop
import Glibc
import Testing

@Suite struct SocketTests {
    @Test func listenAcceptAndPeerAddressOnLoopback() throws {
        let (listener, address) = try makeListener()
        defer { Socket.close(listener) }
        #expect(address.ipString == "127.0.0.1")
        #expect(address.port != 0, "port 0 must be replaced by the kernel's choice")

        // Nothing pending yet.
        #expect(try Socket.accept(listener).wouldBlock)

        let (client, connected) = try Socket.connect(to: address)
        defer { Socket.close(client) }
        if !connected {
            try #require(waitFor(client, POLLOUT) & POLLOUT != 0)
        }
        #expect(Socket.pendingError(client) == 0)
        try #require(waitFor(listener, POLLIN) & POLLIN != 0)

        let accepted = try #require(try Socket.accept(listener).value)
        defer { Socket.close(accepted.fd) }
        let clientAddress = try #require(Socket.localAddress(client))
        #expect(accepted.peer == clientAddress)
        #expect(accepted.peer.ipString == "127.0.0.1")
        #expect(accepted.peer.port == clientAddress.port)
        #expect(Socket.localAddress(accepted.fd) == address)

        // The accepted descriptor is non-blocking and close-on-exec.
        #expect(fcntl(accepted.fd, F_GETFL) & O_NONBLOCK != 0)
        #expect(fcntl(accepted.fd, F_GETFD) & FD_CLOEXEC != 0)

        // Only one connection was pending.
        #expect(try Socket.accept(listener).wouldBlock)
    }

    @Test func readWouldBlockWhenEmptyAndReturnsZeroAfterThePeerCloses() throws {
        let (listener, address) = try makeListener()
        defer { Socket.close(listener) }
        let (client, server) = try makeTCPPair(listener: listener, address: address)
        defer { Socket.close(server) }

        #expect(try readAvailable(server).wouldBlock)

        let message = Array("hello, loop".utf8)
        let written = try message.withUnsafeBytes { raw throws(SyscallError) in try Socket.write(client, from: raw) }
        #expect(written.value == message.count)
        try #require(waitFor(server, POLLIN) & POLLIN != 0)
        #expect(try readAvailable(server).value == message)
        #expect(try readAvailable(server).wouldBlock)

        Socket.close(client)
        try #require(waitFor(server, POLLIN) & POLLIN != 0)
        #expect(try readAvailable(server).value == [], "end of stream is .processed(0)")
    }

    @Test func shutdownWriteDeliversEndOfStreamButKeepsReading() throws {
        let (listener, address) = try makeListener()
        defer { Socket.close(listener) }
        let (client, server) = try makeTCPPair(listener: listener, address: address)
        defer { Socket.close(client); Socket.close(server) }

        Socket.shutdownWrite(client)
        try #require(waitFor(server, POLLIN) & POLLIN != 0)
        #expect(try readAvailable(server).value == [])

        // The other direction still works.
        writeAll(server, [9, 8, 7])
        try #require(waitFor(client, POLLIN) & POLLIN != 0)
        #expect(try readAvailable(client).value == [9, 8, 7])
    }

    @Test func writingToAResetConnectionIsPeerGone() throws {
        let (listener, address) = try makeListener()
        defer { Socket.close(listener) }
        let (client, server) = try makeTCPPair(listener: listener, address: address)
        defer { Socket.close(server) }
        Socket.abort(client)   // RST
        try #require(waitFor(server, POLLIN) & (POLLIN | POLLERR | POLLHUP) != 0)

        var caught: SyscallError?
        do {
            _ = try readAvailable(server)
            // Reading consumed nothing: writing must fail now (SIGPIPE suppressed by MSG_NOSIGNAL).
            _ = try [UInt8](repeating: 1, count: 16).withUnsafeBytes { raw throws(SyscallError) in
                try Socket.write(server, from: raw)
            }
        } catch let error as SyscallError {
            caught = error
        }
        let error = try #require(caught, "reading or writing a reset connection must throw")
        #expect(error.errno == ECONNRESET || error.errno == EPIPE, "\(error)")
        #expect(error.isPeerGone)
    }

    /// A port bound by a socket that does not listen: connecting to it is refused, and the port
    /// cannot be taken by anyone else while the test runs.
    @Test func connectToAClosedPortIsRefusedWithErrno() throws {
        let any = try #require(SocketAddress(ip: "127.0.0.1", port: 0))
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(holder >= 0)
        defer { Glibc.close(holder) }
        var storage = any.storage
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, any.length) }
        }
        try #require(bound == 0)
        let closed = try #require(Socket.localAddress(holder))

        do {
            let (fd, connected) = try Socket.connect(to: closed)
            defer { Socket.close(fd) }
            #expect(!connected, "connected to a port nobody listens on")
            let events = waitFor(fd, POLLOUT)
            #expect(events & (POLLOUT | POLLERR | POLLHUP) != 0)
            #expect(Socket.pendingError(fd) == ECONNREFUSED)
            // SO_ERROR is cleared by reading it.
            #expect(Socket.pendingError(fd) == 0)
        } catch {
            // Refused at once: the error names the call and carries errno.
            #expect(error == SyscallError("connect", errno: ECONNREFUSED))
            #expect(error.errno == ECONNREFUSED)
        }
    }

    @Test func syscallErrorCarriesTheFunctionAndErrno() throws {
        let (listener, address) = try makeListener()
        defer { Socket.close(listener) }
        #expect(throws: SyscallError("bind", errno: EADDRINUSE)) {
            let fd = try Socket.listen(on: address, reusePort: false)
            Socket.close(fd)
        }
        let error = SyscallError("connect", errno: ECONNREFUSED)
        #expect(error.description == "connect: Connection refused")
        #expect(!error.isPeerGone)
        #expect(SyscallError("read", errno: ECONNRESET).isPeerGone)
        #expect(SyscallError("read", errno: ECONNRESET) != SyscallError("write", errno: ECONNRESET))
    }

    @Test func syscallMapsEAGAINToWouldBlockAndSuccessToProcessed() throws {
        let pipe = try Splice.makePipe()
        defer { Glibc.close(pipe.read); Glibc.close(pipe.write) }
        var byte: UInt8 = 0
        let empty = try syscall("read") { Glibc.read(pipe.read, &byte, 1) }
        #expect(empty.wouldBlock)
        byte = 5
        #expect(try syscall("write") { Glibc.write(pipe.write, &byte, 1) }.value == 1)
        byte = 0
        #expect(try syscall("read") { Glibc.read(pipe.read, &byte, 1) }.value == 1)
        #expect(byte == 5)
        #expect(throws: SyscallError("eventfd", errno: EAGAIN)) {
            _ = try syscallBlocking("eventfd") { () -> Int32 in errno = EAGAIN; return -1 }
        }
        #expect(throws: SyscallError("bogus", errno: EINVAL)) {
            _ = try syscall("bogus") { () -> Int32 in errno = EINVAL; return -1 }
        }
    }

    @Test func reusePortLetsTwoListenersShareAnAddress() throws {
        let (first, address) = try makeListener()
        defer { Socket.close(first) }
        let second = try Socket.listen(on: address)
        defer { Socket.close(second) }
        #expect(Socket.localAddress(second) == address)
    }

    @Test func ipv6LoopbackListenAndConnect() throws {
        let any = try #require(SocketAddress(ip: "::1", port: 0))
        let listener: Int32
        do {
            listener = try Socket.listen(on: any, backlog: 4)
        } catch {
            // No IPv6 loopback in this environment: nothing to test.
            #expect(error.errno == EADDRNOTAVAIL || error.errno == EAFNOSUPPORT, "\(error)")
            return
        }
        defer { Socket.close(listener) }
        let address = try #require(Socket.localAddress(listener))
        #expect(address.description == "[::1]:\(address.port)")
        let (client, server) = try makeTCPPair(listener: listener, address: address)
        defer { Socket.close(client); Socket.close(server) }
        writeAll(client, [1, 2, 3])
        try #require(waitFor(server, POLLIN) & POLLIN != 0)
        #expect(try readAvailable(server).value == [1, 2, 3])
    }
}

@Suite struct SpliceTests {
    /// Two loopback connections joined by a pipe: bytes written by the first client come out at
    /// the second client, moved socket → pipe → socket by splice(2), then end of stream follows.
    @Test func relaysBytesSocketToPipeToSocket() throws {
        let (listener, address) = try makeListener()
        defer { Socket.close(listener) }
        let (source, inbound) = try makeTCPPair(listener: listener, address: address)
        let (destination, outbound) = try makeTCPPair(listener: listener, address: address)
        let pipe = try Splice.makePipe()
        defer { [source, inbound, destination, outbound, pipe.read, pipe.write].forEach { Glibc.close($0) } }

        // Empty source: nothing to move yet.
        #expect(try Splice.move(from: inbound, to: pipe.write, count: 65536).wouldBlock)
        #expect(try Splice.move(from: pipe.read, to: outbound, count: 65536).wouldBlock)

        var rng = SeededGenerator(seed: 7)
        let payload = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var sent = 0
        var inPipe = 0
        var sourceDone = false
        var received: [UInt8] = []
        var receivedEOF = false
        var scratch = [UInt8](repeating: 0, count: 65536)
        let deadline = MonotonicClock.now() + 30_000 * millisecond

        while !receivedEOF {
            try #require(MonotonicClock.now() < deadline, "relay stalled at \(received.count) bytes")
            var progress = false
            if sent < payload.count {
                let result = try payload[sent...].withUnsafeBytes { raw throws(SyscallError) in try Socket.write(source, from: raw) }
                if let n = result.value, n > 0 { sent += n; progress = true }
                if sent == payload.count { Socket.shutdownWrite(source); progress = true }
            }
            if !sourceDone {
                switch try Splice.move(from: inbound, to: pipe.write, count: 65536) {
                case .processed(0): sourceDone = true; progress = true
                case .processed(let n): inPipe += n; progress = true
                case .wouldBlock: break
                }
            }
            if inPipe > 0 {
                if let n = try Splice.move(from: pipe.read, to: outbound, count: inPipe).value, n > 0 {
                    inPipe -= n
                    progress = true
                }
            } else if sourceDone {
                Socket.shutdownWrite(outbound)
            }
            switch try scratch.withUnsafeMutableBytes({ raw throws(SyscallError) in try Socket.read(destination, into: raw) }) {
            case .processed(0): receivedEOF = true
            case .processed(let n): received.append(contentsOf: scratch[0..<n]); progress = true
            case .wouldBlock: break
            }
            if !progress {
                // Level-triggered wait on everything that could move next.
                var fds = [
                    pollfd(fd: source, events: Int16(sent < payload.count ? POLLOUT : 0), revents: 0),
                    pollfd(fd: inbound, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: outbound, events: Int16(inPipe > 0 ? POLLOUT : 0), revents: 0),
                    pollfd(fd: destination, events: Int16(POLLIN), revents: 0),
                ]
                _ = Glibc.poll(&fds, nfds_t(fds.count), 1000)
            }
        }

        #expect(sent == payload.count)
        #expect(inPipe == 0)
        #expect(received.count == payload.count)
        #expect(received == payload)
    }

    @Test func endOfStreamFromTheSocketIsProcessedZero() throws {
        let (listener, address) = try makeListener()
        defer { Socket.close(listener) }
        let (client, server) = try makeTCPPair(listener: listener, address: address)
        let pipe = try Splice.makePipe()
        defer { [client, server, pipe.read, pipe.write].forEach { Glibc.close($0) } }

        writeAll(client, [1, 2, 3])
        Socket.shutdownWrite(client)
        try #require(waitFor(server, POLLIN) & POLLIN != 0)
        var moved = 0
        while true {
            let result = try Splice.move(from: server, to: pipe.write, count: 4096)
            if let n = result.value {
                if n == 0 { break }
                moved += n
            } else {
                try #require(waitFor(server, POLLIN) & POLLIN != 0)
            }
        }
        #expect(moved == 3)
        var bytes = [UInt8](repeating: 0, count: 8)
        #expect(Glibc.read(pipe.read, &bytes, 8) == 3)
        #expect(Array(bytes[0..<3]) == [1, 2, 3])
    }
}

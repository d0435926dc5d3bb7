import EventLoop
import Glibc
import Testing

/// The blocking helpers over loopback: a connect, a whole write read back, the end of a
/// stream, deadlines that pass, and a refused connect.
@Suite struct BlockingSocketTests {
    @Test func connectsWritesAllAndReadsUntilThePeerCloses() throws {
        let (listener, address) = try makeListener()
        defer { Socket.close(listener) }
        let deadline = MonotonicClock.now() + 2_000_000_000
        let client = try BlockingSocket.connect(to: address, deadline: deadline)
        defer { Socket.close(client) }
        try #require(waitFor(listener, POLLIN) & POLLIN != 0)
        let server = try #require(try Socket.accept(listener).value).fd
        // More than a socket buffer holds at once: writeAll waits for the reader to make room.
        let sent = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let writer = LoopThread(name: "test-writer") {
            try? BlockingSocket.writeAll(server, sent, deadline: deadline)
            Socket.close(server)
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try BlockingSocket.readSome(client, into: &chunk, deadline: deadline)
            if n == 0 { break }
            received += chunk[0..<n]
        }
        writer.join()
        #expect(received == sent)
    }

    @Test func aReadWithNothingToReadEndsAtItsDeadline() throws {
        let (listener, address) = try makeListener()
        defer { Socket.close(listener) }
        let client = try BlockingSocket.connect(to: address, deadline: MonotonicClock.now() + 2_000_000_000)
        defer { Socket.close(client) }
        let started = MonotonicClock.now()
        var chunk = [UInt8](repeating: 0, count: 16)
        #expect(throws: BlockingSocket.Failure.timedOut) {
            _ = try BlockingSocket.readSome(client, into: &chunk, deadline: started + 50_000_000)
        }
        #expect(MonotonicClock.now() - started >= 50_000_000)
        #expect(BlockingSocket.Failure.timedOut.code == ETIMEDOUT)
    }

    @Test func aWriteToAPeerThatDoesNotReadEndsAtItsDeadline() throws {
        let (listener, address) = try makeListener()
        defer { Socket.close(listener) }
        let client = try BlockingSocket.connect(to: address, deadline: MonotonicClock.now() + 2_000_000_000)
        defer { Socket.close(client) }
        let lots = [UInt8](repeating: 1, count: 64 << 20)
        #expect(throws: BlockingSocket.Failure.timedOut) {
            try BlockingSocket.writeAll(client, lots, deadline: MonotonicClock.now() + 100_000_000)
        }
    }

    @Test func aConnectToAClosedPortFailsWithTheSystemsText() throws {
        let (listener, address) = try makeListener()
        Socket.close(listener)
        do {
            let fd = try BlockingSocket.connect(to: address, deadline: MonotonicClock.now() + 2_000_000_000)
            Socket.close(fd)
            Issue.record("connected to a closed port")
        } catch {
            #expect("\(error)".contains("refused"), "\(error)")
        }
    }
}

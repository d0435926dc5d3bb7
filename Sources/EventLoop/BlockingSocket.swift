import Glibc

/// One socket used the blocking way, by a thread that has nothing else to do meanwhile: the
/// command-line commands, the admin API's connection threads, the webhook, the upgrade channel
/// and the demo. Never on an event loop.
///
/// Every wait is a poll(2) that ends at a deadline in `MonotonicClock` nanoseconds
/// (`noDeadline` waits as long as it takes), and every send and receive is non-blocking
/// (`MSG_DONTWAIT`), so the descriptor may be in either mode and a peer that stops reading or
/// writing holds the thread only until the deadline. Sends use `MSG_NOSIGNAL`: a peer gone
/// away is an `EPIPE` failure, not a SIGPIPE.
public enum BlockingSocket {
    /// A deadline that never comes.
    public static let noDeadline = UInt64.max

    /// Why a read or a write ended before it was done.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The deadline passed first.
        case timedOut
        /// The kernel refused (`ECONNRESET`, `EPIPE`, …).
        case failed(errno: Int32)

        /// `ETIMEDOUT` for a deadline that passed.
        public var code: Int32 {
            switch self {
            case .timedOut: ETIMEDOUT
            case .failed(let code): code
            }
        }

        /// The system's text for `code` ("Connection timed out", "Broken pipe").
        public var description: String { String(cString: strerror(code)) }
    }

    /// Why a connection was not made.
    public enum ConnectFailure: Error, CustomStringConvertible {
        /// socket(2) or connect(2) failed at once (out of descriptors, no route, refused on loopback).
        case immediate(SyscallError)
        /// The connect did not complete: `ETIMEDOUT` at the deadline, else the socket's pending error.
        case pending(errno: Int32)

        /// The `SyscallError`'s text, or the system's text for the pending error.
        public var description: String {
            switch self {
            case .immediate(let error): "\(error)"
            case .pending(let code): String(cString: strerror(code))
            }
        }
    }

    /// Connects to `address`, waiting for the connection until `deadline`. The descriptor is
    /// non-blocking and close-on-exec, and the caller's to close; on failure nothing stays open.
    public static func connect(to address: SocketAddress, deadline: UInt64) throws(ConnectFailure) -> Int32 {
        let connection: (fd: Int32, connected: Bool)
        do {
            connection = try Socket.connect(to: address)
        } catch {
            throw .immediate(error)
        }
        guard !connection.connected else { return connection.fd }
        let failure: Int32
        do {
            try wait(connection.fd, for: POLLOUT, until: deadline)
            failure = Socket.pendingError(connection.fd)
        } catch {
            failure = error.code
        }
        guard failure == 0 else {
            Socket.close(connection.fd)
            throw .pending(errno: failure)
        }
        return connection.fd
    }

    /// Sends all of `bytes`, waiting for room in the socket's buffer until `deadline`.
    public static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, deadline: UInt64) throws(Failure) {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if n > 0 {
                offset += n
                continue
            }
            // send(2) never returns 0 for bytes to send on a stream socket; treated as a closed peer.
            let code = n < 0 ? errno : EPIPE
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw .failed(errno: code) }
            try wait(fd, for: POLLOUT, until: deadline)
        }
    }

    /// Sends all of `bytes`, waiting for room in the socket's buffer until `deadline`.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: UInt64) throws(Failure) {
        try writeAll(fd, bytes[...], deadline: deadline)
    }

    /// Reads what the socket has, at most `buffer.count` bytes, waiting for some until `deadline`.
    /// Returns the count read: 0 when the peer has closed its side.
    public static func readSome(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, deadline: UInt64) throws(Failure) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw .failed(errno: code) }
            try wait(fd, for: POLLIN, until: deadline)
        }
    }

    /// `readSome` into the whole of `chunk`; the bytes read are `chunk[0..<count]`.
    public static func readSome(_ fd: Int32, into chunk: inout [UInt8], deadline: UInt64) throws(Failure) -> Int {
        let result = chunk.withUnsafeMutableBytes { buffer in
            Result { () throws(Failure) in try readSome(fd, into: buffer, deadline: deadline) }
        }
        return try result.get()
    }

    /// Waits until `fd` is ready for `events` (or has an error or a hang-up, which the next call
    /// reports), retrying interrupted polls, until `deadline`.
    static func wait(_ fd: Int32, for events: Int32, until deadline: UInt64) throws(Failure) {
        while true {
            var timeout: Int32 = -1
            if deadline != noDeadline {
                let now = MonotonicClock.now()
                guard now < deadline else { throw .timedOut }
                // Rounded up: a poll of 0 ms for the last fraction of a millisecond would spin.
                timeout = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            var descriptor = pollfd(fd: fd, events: Int16(events), revents: 0)
            let ready = poll(&descriptor, 1, timeout)
            if ready > 0 { return }
            if ready < 0 {
                let code = errno
                guard code == EINTR else { throw .failed(errno: code) }
            }
        }
    }
}

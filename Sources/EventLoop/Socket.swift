import CLinux
import Glibc

/// Thin, non-blocking socket operations on raw descriptors. The data plane owns descriptors in its
/// connection objects; these functions only wrap the calls (EINTR, EAGAIN, errno).
public enum Socket {
    /// A listening socket with SO_REUSEPORT, so each worker binds its own and the kernel spreads
    /// new connections between them.
    public static func listen(on address: SocketAddress, backlog: Int32 = 4096, reusePort: Bool = true) throws(SyscallError) -> Int32 {
        let fd = try syscallBlocking("socket") { Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | cutover_sock_nonblock_cloexec(), 0) }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
            if address.family == AF_INET6 { try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            var storage = address.storage
            _ = try syscallBlocking("bind") {
                withUnsafePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, address.length) }
                }
            }
            _ = try syscallBlocking("listen") { Glibc.listen(fd, backlog) }
        } catch {
            Glibc.close(fd)
            throw error
        }
        return fd
    }

    /// Accepts one connection as non-blocking and close-on-exec, with its peer address.
    public static func accept(_ fd: Int32) throws(SyscallError) -> IOResult<(fd: Int32, peer: SocketAddress)> {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try syscall("accept4") {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    cutover_accept4(fd, $0, &length, cutover_sock_nonblock_cloexec())
                }
            }
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .processed(let client): return .processed((client, SocketAddress(storage: storage, length: length)))
        }
    }

    /// Starts a non-blocking connect. `.processed(true)`: connected at once; `.processed(false)`:
    /// in progress, wait for writability and then check `pendingError`.
    public static func connect(to address: SocketAddress) throws(SyscallError) -> (fd: Int32, connected: Bool) {
        let fd = try syscallBlocking("socket") { Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | cutover_sock_nonblock_cloexec(), 0) }
        var storage = address.storage
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, address.length) }
        }
        if rc == 0 { return (fd, true) }
        let err = Glibc.errno
        if err == EINPROGRESS || err == EINTR { return (fd, false) }
        Glibc.close(fd)
        throw SyscallError("connect", errno: err)
    }

    /// SO_ERROR of a socket whose connect was in progress; 0 when it succeeded.
    public static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) != 0 { return Glibc.errno }
        return value
    }

    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SyscallError) {
        var v = value
        _ = try syscallBlocking("setsockopt") { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    public static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads into `buffer`; `.processed(0)` means the peer closed its sending side.
    @inline(__always)
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SyscallError) -> IOResult<Int> {
        try syscall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    @inline(__always)
    public static func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws(SyscallError) -> IOResult<Int> {
        try syscall("write") { Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
    }

    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Closes with an RST instead of a FIN (SO_LINGER 0): for connections cut short on purpose.
    public static func abort(_ fd: Int32) {
        var lingerValue = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &lingerValue, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
    }

    public static func close(_ fd: Int32) {
        Glibc.close(fd)
    }

    /// The address a socket is bound to (for listeners bound to port 0 in tests).
    public static func localAddress(_ fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return rc == 0 ? SocketAddress(storage: storage, length: length) : nil
    }
}

/// A kernel pipe used as the in-kernel buffer between two sockets for splice(2).
public enum Splice {
    public static func makePipe() throws(SyscallError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        _ = try syscallBlocking("pipe2") { cutover_pipe2(&fds, O_NONBLOCK | O_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// Moves up to `count` bytes from `source` to `sink` (one of them a pipe) without copying.
    /// `.processed(0)` from a socket means end of stream.
    @inline(__always)
    public static func move(from source: Int32, to sink: Int32, count: Int) throws(SyscallError) -> IOResult<Int> {
        try syscall("splice") { cutover_splice(source, sink, count, cutover_splice_f_nonblock() | cutover_splice_f_move()) }
    }
}

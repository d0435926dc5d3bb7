import CLinux
import Glibc

/// The outcome of a non-blocking operation: done, or the kernel would have to block.
public enum IOResult<T>: Sendable where T: Sendable {
    case processed(T)
    case wouldBlock
}

/// A failed system call: which one and its errno. Errors that can only mean a bug in the
/// caller (EBADF, EFAULT) are not thrown: they crash, loudly, where they happened.
public struct SyscallError: Error, Sendable, Equatable, CustomStringConvertible {
    public var function: StaticString
    public var errno: Int32

    public init(_ function: StaticString, errno: Int32) {
        self.function = function
        self.errno = errno
    }

    public static func == (a: SyscallError, b: SyscallError) -> Bool {
        a.errno == b.errno && a.function.description == b.function.description
    }

    public var description: String {
        "\(function): \(String(cString: strerror(errno)))"
    }

    /// The peer went away (reset, broken pipe) rather than something being wrong with us.
    public var isPeerGone: Bool {
        errno == ECONNRESET || errno == EPIPE || errno == ENOTCONN || errno == ETIMEDOUT
    }
}

/// Runs a system call, retrying EINTR, turning EAGAIN into `.wouldBlock` and other failures into
/// `SyscallError`. The one place errno is read.
@inline(__always)
public func syscall<T: FixedWidthInteger & Sendable>(
    _ function: StaticString, _ body: () -> T
) throws(SyscallError) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .processed(result) }
        let err = Glibc.errno
        switch err {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            return .wouldBlock
        case EBADF, EFAULT:
            preconditionFailure("\(function) failed with \(err): a bug, not a runtime condition")
        default:
            throw SyscallError(function, errno: err)
        }
    }
}

/// For calls that never legitimately block: a `.wouldBlock` is reported as EAGAIN.
@inline(__always)
public func syscallBlocking<T: FixedWidthInteger & Sendable>(
    _ function: StaticString, _ body: () -> T
) throws(SyscallError) -> T {
    switch try syscall(function, body) {
    case .processed(let value): return value
    case .wouldBlock: throw SyscallError(function, errno: EAGAIN)
    }
}

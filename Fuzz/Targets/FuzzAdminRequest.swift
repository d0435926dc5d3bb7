import Glibc
import HTTP1

/// Fuzz target: the admin API's request handling up to the routes — the real `AdminConnection`
/// (reading a socket, the strict head parser with the admin limits, skipping bodies, pipelining,
/// Expect: 100-continue, the error answers) and `AdminQuery.parse`. The routes themselves
/// (AdminAPI.handle) need the whole control plane and are not part of it: the handler here
/// records each request and answers 200.
///
/// The input is written to one end of a socket pair (then shut down), the connection serves the
/// other end; the bytes it answers are read back afterwards.
///
/// Invariants: the requests the handler sees are exactly those an independent walk over the
/// input finds (complete heads, Content-Length bodies up to 64 KiB, stopping at an error,
/// `chunked`, an over-long body, `Connection: close` or the end of the input), with the same
/// method and path; every byte answered is a sequence of well-formed HTTP/1.1 responses with a
/// Content-Length matching the body — one per request, then one error answer if the walk stopped
/// on an error; the query round-trips through percent-encoding.

struct ExpectedAdmin {
    var requests: [(method: String, target: String, isHEAD: Bool, expectContinue: Bool)] = []
    var rejection: Int? = nil
}

func walk(_ input: [UInt8]) -> ExpectedAdmin {
    var expected = ExpectedAdmin()
    var offset = 0
    var head = RequestHead()
    while offset < input.count {
        let rest = Array(input[offset...])
        let result: Result<HeadParseResult, HTTPParseError> = rest.withUnsafeBytes { raw in
            Result { () throws(HTTPParseError) in try parseRequestHead(raw, limits: AdminServer.limits, into: &head) }
        }
        switch result {
        case .failure(let error): expected.rejection = error.status; return expected
        case .success(.incomplete): return expected
        case .success(.complete): break
        }
        var body = 0
        switch head.framing {
        case .none, .untilClose: break
        case .chunked: expected.rejection = 411; return expected
        case .contentLength(let n):
            guard n <= UInt64(AdminServer.maxBodyBytes) else { expected.rejection = 413; return expected }
            body = Int(n)
        }
        guard head.headLength + body <= rest.count else { return expected }
        let text = { (r: Range<Int>) in String(decoding: rest[r], as: UTF8.self) }
        expected.requests.append((text(head.method), text(head.target), head.isHEAD, head.expectContinue))
        offset += head.headLength + body
        if head.wantsClose { return expected }
    }
    return expected
}

final class Seen: @unchecked Sendable {
    var requests: [AdminRequest] = []
}

func percentEncoded(_ s: String) -> String {
    s.utf8.map { b in
        let hex = Array("0123456789ABCDEF".utf8)
        return String(decoding: [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]], as: UTF8.self)
    }.joined()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAdminRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    var fds: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { fuzzFail("socketpair") }
    defer { close(fds[0]); close(fds[1]) }
    var big: Int32 = 1 << 20
    for fd in fds {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, socklen_t(4))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, socklen_t(4))
    }
    var sent = 0
    while sent < input.count {
        let n = input[sent...].withUnsafeBytes { send(fds[0], $0.baseAddress, $0.count, 0) }
        guard n > 0 else { fuzzFail("send") }
        sent += n
    }
    shutdown(fds[0], Int32(SHUT_WR))

    let seen = Seen()
    var connection = AdminConnection(fd: fds[1]) { request in
        seen.requests.append(request)
        return AdminResponse(status: 200, text: "ok\n")
    }
    connection.serve()
    shutdown(fds[1], Int32(SHUT_WR))
    var answered: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fds[0], $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        answered += chunk[0..<n]
    }

    // The requests.
    let expected = walk(input)
    check(seen.requests.count == expected.requests.count,
          "handler saw \(seen.requests.count) requests, the walk found \(expected.requests.count)")
    for (got, want) in zip(seen.requests, expected.requests) {
        check(got.method == want.method, "method \(got.method) != \(want.method)")
        check(got.path == String(want.target.prefix { $0 != "?" && $0 != "#" }), "path \(got.path) for \(want.target)")
        check(got.query == AdminQuery.parse(want.target), "query")
        // Round trip: the decoded pairs, percent-encoded again, decode to themselves.
        let rebuilt = "?" + got.query.map { percentEncoded($0.key) + "=" + percentEncoded($0.value) }.joined(separator: "&")
        check(AdminQuery.parse(rebuilt) == got.query, "query does not round-trip: \(got.query)")
    }

    // The answers: 100 Continue where asked (and the body not yet there), one response per
    // request, then the error answer.
    var statuses: [Int] = []
    var offset = 0
    var response = ResponseHead()
    while offset < answered.count {
        let rest = Array(answered[offset...])
        let isHEAD = statuses.filter { $0 != 100 }.count < expected.requests.count
            && expected.requests[statuses.filter { $0 != 100 }.count].isHEAD
        let result: Result<HeadParseResult, HTTPParseError> = rest.withUnsafeBytes { raw in
            Result { () throws(HTTPParseError) in
                try parseResponseHead(raw, requestWasHEAD: false, limits: ParseLimits(), into: &response)
            }
        }
        guard case .success(.complete) = result else {
            fuzzFail("answer not a complete response: \(result) \(String(decoding: rest.prefix(200), as: UTF8.self).debugDescription)")
        }
        var body = 0
        if case .contentLength(let n) = response.framing { body = Int(n) }
        if response.status != 100 {
            check(response.framing != .untilClose && response.framing != .chunked, "answer without Content-Length")
        }
        if isHEAD { body = 0 }
        check(response.headLength + body <= rest.count, "answer shorter than its Content-Length")
        statuses.append(response.status)
        offset += response.headLength + body
    }
    let finals = statuses.filter { $0 != 100 }
    let want = Array(repeating: 200, count: expected.requests.count) + (expected.rejection.map { [$0] } ?? [])
    check(finals == want, "answers \(finals), expected \(want)")
    return 0
}

import EventLoop
import Glibc

/// Fuzz target: the access-log JSON writer (`JSONLineWriter` via `AccessLogEntry.write`, the code
/// the data plane runs per request). Any bytes in → one line a strict JSON parser accepts.
///
/// Input layout: byte 0 flags (bit 0 IPv6; bits 1–4 route/pool/backend/upstream_duration null;
/// bits 5–7 pick the scratch size: 0 = roomy, else tight), then 16 address bytes, 2 port bytes,
/// 7 × 8 bytes of numbers (time, status, bytes in/out, durations, generation), 5 length bytes,
/// then the method, target, route, pool and backend bytes. Missing bytes read as zero.
///
/// Invariants: a line that fits is exactly one JSON object and a newline (no raw control byte,
/// well-formed UTF-8), with the keys in order; method and target decode to the input bytes
/// (well-formed UTF-8 kept, every other byte as U+00XX); numbers are the inputs; a line that
/// does not fit sets `overflowed` and never writes past the scratch space (ASan).

struct Reader {
    let data: UnsafeRawBufferPointer
    var i = 0
    mutating func byte() -> UInt8 { defer { i += 1 }; return i < data.count ? data[i] : 0 }
    mutating func u64() -> UInt64 { (0..<8).reduce(0) { v, _ in v << 8 | UInt64(byte()) } }
    mutating func bytes(_ n: Int) -> UnsafeRawBufferPointer {
        let s = min(i, data.count), e = min(i + n, data.count)
        i += n
        return UnsafeRawBufferPointer(rebasing: data[s..<e])
    }
}

/// What the writer promises for a byte span: well-formed UTF-8 as is, every other byte U+00XX.
func expectedScalars(_ bytes: UnsafeRawBufferPointer) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    var i = 0
    while i < bytes.count {
        if let (s, n) = decodeUTF8(bytes, at: i) { out.append(s); i += n }
        else { out.append(Unicode.Scalar(bytes[i])); i += 1 }
    }
    return out
}

nonisolated(unsafe) var clock = WallClockText()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAccessLog(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var r = Reader(data: UnsafeRawBufferPointer(start: data, count: size))
    let flags = r.byte()
    let addressBytes = Array(r.bytes(16)) + Array(repeating: 0, count: 16)
    let port = UInt16(r.byte()) << 8 | UInt16(r.byte())
    let wallStart = Int64(bitPattern: r.u64() & UInt64(Int64.max))
    let status = Int(truncatingIfNeeded: r.u64())
    let bytesIn = r.u64(), bytesOut = r.u64()
    var duration = r.u64(), upstream = r.u64()
    let generation = r.u64()
    if knownIssueSecondsOverflow {
        duration = min(duration, UInt64.max - 500)
        upstream = min(upstream, UInt64.max - 500)
    }
    let lengths = (0..<5).map { _ in Int(r.byte()) }
    let method = r.bytes(lengths[0]), target = r.bytes(lengths[1] * 16)
    let route = String(decoding: r.bytes(lengths[2]), as: UTF8.self)
    let pool = String(decoding: r.bytes(lengths[3]), as: UTF8.self)
    let backend = String(decoding: r.bytes(lengths[4]), as: UTF8.self)

    var storage = sockaddr_storage()
    var length: socklen_t
    if flags & 1 == 0 {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: addressBytes[0..<4]) }
        withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sin, as: sockaddr_in.self) }
        length = socklen_t(MemoryLayout<sockaddr_in>.size)
    } else {
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: addressBytes[0..<16]) }
        withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sin6, as: sockaddr_in6.self) }
        length = socklen_t(MemoryLayout<sockaddr_in6>.size)
    }
    let client = SocketAddress(storage: storage, length: length)
    let entry = AccessLogEntry(
        wallStart: wallStart, client: client, method: method, target: target, status: status,
        bytesIn: bytesIn, bytesOut: bytesOut, duration: duration,
        upstreamDuration: flags & 16 != 0 ? nil : upstream,
        route: flags & 2 != 0 ? nil : route, pool: flags & 4 != 0 ? nil : pool,
        backend: flags & 8 != 0 ? nil : backend, generation: generation)

    // Roomy: the worst case of every field. Tight: somewhere below the line's real length.
    let roomy = 512 + 6 * (method.count + target.count + route.utf8.count + pool.utf8.count + backend.utf8.count)
    let capacity = flags >> 5 == 0 ? roomy : max(1, Int(flags >> 5) * 37 + Int(lengths[0]))
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
    defer { scratch.deallocate() }
    var line = JSONLineWriter(scratch)
    entry.write(into: &line, clock: &clock)
    check(line.count <= capacity, "count \(line.count) beyond capacity \(capacity)")
    if line.overflowed {
        check(flags >> 5 != 0, "roomy scratch overflowed")
        return 0
    }
    let bytes = line.bytes
    check(bytes.count >= 2 && bytes[bytes.count - 1] == 0x0A, "line does not end with a newline")
    let body = UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 1)])
    check(!body.contains(0x0A) && !body.contains(where: { $0 < 0x20 || $0 == 0x7F }), "raw control byte in the line")
    guard let json = StrictJSON.parse(body), case .object(let members) = json else {
        fuzzFail("not a JSON object: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
    }
    let keys = members.map(\.0)
    check(keys == ["time", "client", "client_port", "method", "target", "protocol", "status", "bytes_in", "bytes_out",
                   "duration", "upstream_duration", "route", "pool", "backend", "generation"], "keys \(keys)")
    let value = Dictionary(members, uniquingKeysWith: { a, _ in a })
    check(value["method"] == .string(expectedScalars(method)), "method does not decode to the input bytes")
    check(value["target"] == .string(expectedScalars(target)), "target does not decode to the input bytes")
    check(value["route"] == (flags & 2 != 0 ? .null : .string(Array(route.unicodeScalars))), "route")
    check(value["backend"] == (flags & 8 != 0 ? .null : .string(Array(backend.unicodeScalars))), "backend")
    check(value["status"] == .number(Array(String(max(0, status)).utf8)), "status")
    check(value["bytes_in"] == .number(Array(String(bytesIn).utf8)), "bytes_in")
    check(value["generation"] == .number(Array(String(generation).utf8)), "generation")
    check(value["client_port"] == .number(Array(String(port).utf8)), "client_port")
    check(value["client"] == .string(Array(client.ipString.unicodeScalars)), "client \(client.ipString)")
    let micros = duration / 1000 + (duration % 1000 >= 500 ? 1 : 0)  // as the writer rounds, without overflow
    let seconds = "\(micros / 1_000_000)." + String(String(micros % 1_000_000 + 1_000_000).dropFirst())
    check(value["duration"] == .number(Array(seconds.utf8)), "duration")
    guard case .string(let time)? = value["time"] else { fuzzFail("time not a string") }
    check(time.count == 24 && time[10] == "T" && time[23] == "Z", "time \(String(String.UnicodeScalarView(time)))")
    return 0
}

/// Known issue (Fuzz/regressions/access-log/seconds-overflow): `JSONLineWriter.seconds` rounds
/// with `(nanoseconds + 500) / 1000`, which traps for the last 500 values below 2^64 — what
/// `end &- started` gives if a start is ever later than its end. Until fixed, the target keeps
/// durations below that. Set to false once fixed.
let knownIssueSecondsOverflow = false

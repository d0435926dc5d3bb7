import EventLoop
import Glibc

/// Writes one JSON line into a fixed buffer, without allocating: the data plane formats each
/// access-log line into its worker's scratch space with this, then copies it to the ring whole.
/// A line that would not fit sets `overflowed` and is dropped by the caller (the scratch space
/// is sized so that the longest method and target the parser accepts fit).
struct JSONLineWriter {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    private(set) var count = 0
    private(set) var overflowed = false

    /// `buffer` is allocated scratch space: never empty (an empty one is a bug, and traps).
    init(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let start = buffer.baseAddress else { preconditionFailure("JSONLineWriter needs allocated space") }
        base = start
        capacity = buffer.count
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inline(__always)
    private mutating func room(_ n: Int) -> Bool {
        if count + n <= capacity { return true }
        overflowed = true
        return false
    }

    /// Literal JSON (keys, punctuation), copied as it is.
    mutating func raw(_ text: StaticString) {
        let n = text.utf8CodeUnitCount
        guard room(n) else { return }
        (base + count).copyMemory(from: text.utf8Start, byteCount: n)
        count += n
    }

    /// Bytes known to need no escaping (a formatted timestamp, an IP address).
    mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, room(bytes.count) else { return }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func null() { raw("null") }

    /// Lets `body` write exactly `exactly` bytes in place.
    mutating func reserve(exactly: Int, _ body: (UnsafeMutableRawPointer) -> Void) {
        guard room(exactly) else { return }
        body(base + count)
        count += exactly
    }

    /// A JSON string: quotes and backslashes escaped, control bytes, DEL and every byte that is
    /// not part of well-formed UTF-8 as `\u00XX`; well-formed UTF-8 is kept as it is.
    mutating func string(_ bytes: UnsafeRawBufferPointer) {
        // Worst case: every byte becomes six.
        guard room(2 + 6 * bytes.count) else { return }
        let out = base.assumingMemoryBound(to: UInt8.self)
        out[count] = 0x22
        count += 1
        var i = 0
        while i < bytes.count {
            // A run of printable ASCII that needs no escaping goes in one copy.
            var end = i
            while end < bytes.count, case let b = bytes[end], b >= 0x20, b < 0x7F, b != 0x22, b != 0x5C { end += 1 }
            if end > i {
                (base + count).copyMemory(from: bytes.baseAddress! + i, byteCount: end - i)
                count += end - i
                i = end
                continue
            }
            let b = bytes[i]
            if b == 0x22 || b == 0x5C {
                out[count] = 0x5C
                out[count + 1] = b
                count += 2
                i += 1
            } else if b >= 0x80, case let n = utf8SequenceLength(bytes, at: i), n > 0 {
                for k in 0..<n { out[count + k] = bytes[i + k] }
                count += n
                i += n
            } else {
                escapeByte(b, out)
                i += 1
            }
        }
        out[count] = 0x22
        count += 1
    }

    /// A string the proxy itself holds (a route, pool or backend name from the config).
    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { string(UnsafeRawBufferPointer($0)) }
    }

    private mutating func escapeByte(_ b: UInt8, _ out: UnsafeMutablePointer<UInt8>) {
        let hex: StaticString = "0123456789abcdef"
        out[count] = 0x5C
        out[count + 1] = 0x75  // u
        out[count + 2] = 0x30
        out[count + 3] = 0x30
        out[count + 4] = hex.utf8Start[Int(b >> 4)]
        out[count + 5] = hex.utf8Start[Int(b & 0xF)]
        count += 6
    }

    /// A non-negative integer in decimal. Digits come from divisions by the constant 10, which
    /// compile to multiplications (a division by a variable power of ten costs far more).
    mutating func integer(_ value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        let n = withUnsafeMutableBytes(of: &digits) { scratch -> Int in
            var v = value
            var i = scratch.count
            repeat {
                i -= 1
                scratch[i] = UInt8(truncatingIfNeeded: 0x30 &+ v % 10)
                v /= 10
            } while v > 0
            guard room(scratch.count - i) else { return 0 }
            (base + count).copyMemory(from: scratch.baseAddress! + i, byteCount: scratch.count - i)
            return scratch.count - i
        }
        count += n
    }

    /// Nanoseconds as seconds with six decimals (microseconds): `0.000412`, `12.500000`.
    mutating func seconds(nanoseconds: UInt64) {
        // Rounded without adding first: a duration near 2^64 (an end before its start) must not trap.
        let micros = nanoseconds / 1000 + (nanoseconds % 1000 >= 500 ? 1 : 0)
        integer(micros / 1_000_000)
        guard room(7) else { return }
        let out = base.assumingMemoryBound(to: UInt8.self)
        out[count] = 0x2E  // .
        var fraction = micros % 1_000_000
        for k in stride(from: 6, through: 1, by: -1) {
            out[count + k] = UInt8(truncatingIfNeeded: 0x30 &+ fraction % 10)
            fraction /= 10
        }
        count += 7
    }

    /// A client address's numeric host: IPv4 formatted here (inet_ntop goes through printf,
    /// most of a line's cost), IPv6 by inet_ntop.
    mutating func host(_ address: SocketAddress) {
        guard room(48) else { return }
        if address.family == AF_INET {
            let ip = address.ipv4
            for shift in stride(from: 24, through: 0, by: -8) {
                var octet = UInt8(truncatingIfNeeded: ip >> UInt32(shift))
                let out = base.assumingMemoryBound(to: UInt8.self)
                if octet >= 100 {
                    out[count] = 0x30 &+ octet / 100
                    count += 1
                    octet %= 100
                    out[count] = 0x30 &+ octet / 10
                    count += 1
                } else if octet >= 10 {
                    out[count] = 0x30 &+ octet / 10
                    count += 1
                }
                out[count] = 0x30 &+ octet % 10
                count += 1
                if shift > 0 {
                    out[count] = 0x2E
                    count += 1
                }
            }
        } else {
            count += address.writeIP(into: UnsafeMutableRawBufferPointer(start: base + count, count: 48))
        }
    }
}

/// The length of the well-formed UTF-8 sequence starting at `i` (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF), or 0 if the bytes there are not one.
@inline(__always)
func utf8SequenceLength(_ bytes: UnsafeRawBufferPointer, at i: Int) -> Int {
    let b0 = bytes[i]
    let left = bytes.count - i
    func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
        k < left && bytes[i + k] >= low && bytes[i + k] <= high
    }
    switch b0 {
    case 0xC2...0xDF: return continuation(1) ? 2 : 0
    case 0xE0: return continuation(1, 0xA0) && continuation(2) ? 3 : 0
    case 0xE1...0xEC, 0xEE, 0xEF: return continuation(1) && continuation(2) ? 3 : 0
    case 0xED: return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
    case 0xF0: return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
    case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
    case 0xF4: return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
    default: return 0
    }
}

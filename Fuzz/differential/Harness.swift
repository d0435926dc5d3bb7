/// cutover's side of the differential run against llhttp (Fuzz/differential/run.py): reads
/// records (4-byte big-endian length, then the bytes of one request, possibly with a body) from
/// stdin and prints one JSON line per record: the verdict of `parseRequestHead` (default
/// limits) and, when accepted, method, target (hex), version, framing and the body length — for
/// Content-Length the announced length if the bytes are there, for chunked what the
/// ChunkedDecoder delivers. Built with Sources/HTTP1 in one module (scripts/fuzz differential).
#if canImport(Glibc)
import Glibc
#endif

func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

func verdict(_ input: [UInt8]) -> String {
    var head = RequestHead()
    return input.withUnsafeBytes { raw -> String in
        do throws(HTTPParseError) {
            guard try parseRequestHead(raw, limits: ParseLimits(), into: &head) == .complete else {
                return #"{"ok":false,"why":"incomplete"}"#
            }
        } catch {
            return #"{"ok":false,"status":\#(error.status),"why":"\#(error.reason)"}"#
        }
        let common = #""method":"\#(hex(raw[head.method]))","target":"\#(hex(raw[head.target]))","version":"\#(head.version == .http11 ? "1.1" : "1.0")""#
        let rest = UnsafeRawBufferPointer(rebasing: raw[head.headLength...])
        switch head.framing {
        case .none, .untilClose:
            return #"{"ok":true,\#(common),"framing":"none","body":0}"#
        case .contentLength(let n):
            guard UInt64(rest.count) >= n else { return #"{"ok":false,"why":"incomplete body"}"# }
            return #"{"ok":true,\#(common),"framing":"content-length","body":\#(n)}"#
        case .chunked:
            var decoder = ChunkedDecoder()
            var body = 0
            do throws(HTTPParseError) {
                let (_, finished) = try decoder.decode(rest) { body += $0.count }
                guard finished else { return #"{"ok":false,"why":"incomplete body"}"# }
            } catch {
                return #"{"ok":false,"status":\#(error.status),"why":"body: \#(error.reason)"}"#
            }
            return #"{"ok":true,\#(common),"framing":"chunked","body":\#(body)}"#
        }
    }
}

@main struct Harness {
    static func main() {
        var input: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(0, &buffer, buffer.count)
            if n <= 0 { break }
            input += buffer[0..<n]
        }
        var i = 0
        var out = ""
        while i + 4 <= input.count {
            let length = Int(input[i]) << 24 | Int(input[i + 1]) << 16 | Int(input[i + 2]) << 8 | Int(input[i + 3])
            i += 4
            let record = Array(input[i..<min(input.count, i + length)])
            i += length
            out += verdict(record) + "\n"
        }
        print(out, terminator: "")
    }
}

/// A strict RFC 8259 JSON parser for the fuzz targets (no Foundation): whole input one value,
/// UTF-8 validated, strings decoded to Unicode scalars (escapes, surrogate pairs), no trailing
/// bytes but whitespace. Returns nil for anything a conforming parser must reject.
enum JSONValue: Equatable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string([Unicode.Scalar])
    case number([UInt8])
    case bool(Bool)
    case null

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let x), .array(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }
}

struct StrictJSON {
    let b: UnsafeRawBufferPointer
    var i = 0

    static func parse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
        var p = StrictJSON(b: bytes)
        p.ws()
        guard let v = p.value(depth: 0) else { return nil }
        p.ws()
        return p.i == bytes.count ? v : nil
    }

    mutating func ws() { while i < b.count, [0x20, 0x09, 0x0A, 0x0D].contains(b[i]) { i += 1 } }

    mutating func literal(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        for k in 0..<n where b[i + k] != s.utf8Start[k] { return false }
        i += n
        return true
    }

    mutating func value(depth: Int) -> JSONValue? {
        guard depth < 64, i < b.count else { return nil }
        switch b[i] {
        case 0x7B: // {
            i += 1; ws()
            var members: [(String, JSONValue)] = []
            if i < b.count && b[i] == 0x7D { i += 1; return .object(members) }
            while true {
                ws()
                guard i < b.count, b[i] == 0x22, let key = string() else { return nil }
                ws()
                guard i < b.count, b[i] == 0x3A else { return nil }
                i += 1; ws()
                guard let v = value(depth: depth + 1) else { return nil }
                members.append((String(String.UnicodeScalarView(key)), v))
                ws()
                guard i < b.count else { return nil }
                if b[i] == 0x2C { i += 1; continue }
                if b[i] == 0x7D { i += 1; return .object(members) }
                return nil
            }
        case 0x5B: // [
            i += 1; ws()
            var items: [JSONValue] = []
            if i < b.count && b[i] == 0x5D { i += 1; return .array(items) }
            while true {
                ws()
                guard let v = value(depth: depth + 1) else { return nil }
                items.append(v)
                ws()
                guard i < b.count else { return nil }
                if b[i] == 0x2C { i += 1; continue }
                if b[i] == 0x5D { i += 1; return .array(items) }
                return nil
            }
        case 0x22:
            return string().map { .string($0) }
        case 0x74: return literal("true") ? .bool(true) : nil
        case 0x66: return literal("false") ? .bool(false) : nil
        case 0x6E: return literal("null") ? .null : nil
        default: return number()
        }
    }

    mutating func digits() -> Int {
        let s = i
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
        return i - s
    }

    mutating func number() -> JSONValue? {
        let s = i
        if i < b.count && b[i] == 0x2D { i += 1 }
        guard i < b.count else { return nil }
        if b[i] == 0x30 { i += 1 } else { guard b[i] >= 0x31 && b[i] <= 0x39 else { return nil }; _ = digits() }
        if i < b.count && b[i] == 0x2E { i += 1; guard digits() > 0 else { return nil } }
        if i < b.count && (b[i] == 0x65 || b[i] == 0x45) {
            i += 1
            if i < b.count && (b[i] == 0x2B || b[i] == 0x2D) { i += 1 }
            guard digits() > 0 else { return nil }
        }
        return .number(Array(b[s..<i]))
    }

    mutating func hex4() -> UInt32? {
        guard i + 4 <= b.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: return nil
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    /// A string at `i` (on its opening quote).
    mutating func string() -> [Unicode.Scalar]? {
        i += 1
        var out: [Unicode.Scalar] = []
        while i < b.count {
            let c = b[i]
            if c == 0x22 { i += 1; return out }
            if c < 0x20 { return nil }
            if c == 0x5C {
                i += 1
                guard i < b.count else { return nil }
                let e = b[i]
                i += 1
                switch e {
                case 0x22: out.append("\""); case 0x5C: out.append("\\"); case 0x2F: out.append("/")
                case 0x62: out.append("\u{08}"); case 0x66: out.append("\u{0C}"); case 0x6E: out.append("\n")
                case 0x72: out.append("\r"); case 0x74: out.append("\t")
                case 0x75:
                    guard let u = hex4() else { return nil }
                    if (0xD800...0xDBFF).contains(u) {
                        guard literal("\\u"), let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                        out.append(Unicode.Scalar(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00))!)
                    } else {
                        guard let s = Unicode.Scalar(u) else { return nil }  // lone surrogate
                        out.append(s)
                    }
                default: return nil
                }
                continue
            }
            if c < 0x80 { out.append(Unicode.Scalar(c)); i += 1; continue }
            guard let (s, n) = decodeUTF8(b, at: i) else { return nil }
            out.append(s)
            i += n
        }
        return nil
    }
}

/// One well-formed UTF-8 scalar at `i` and its length, by the standard library's decoder.
func decodeUTF8(_ bytes: UnsafeRawBufferPointer, at i: Int) -> (Unicode.Scalar, Int)? {
    var iterator = bytes[i...].makeIterator()
    var decoder = Unicode.UTF8()
    switch decoder.decode(&iterator) {
    case .scalarValue(let s): return (s, Unicode.UTF8.width(s))
    case .emptyInput, .error: return nil
    }
}

import CNGHTTP2
@testable import HTTP2

/// Moves bytes both ways until neither side has anything to send (a bounded number of rounds).
func pump(_ client: TestClient, _ codec: H2ServerCodec) throws {
    for _ in 0..<64 {
        let up = client.output()
        if !up.isEmpty { _ = try up.withUnsafeBytes { try codec.receive($0) } }
        let down = try drain(codec)
        if !down.isEmpty { client.feed(down) }
        if up.isEmpty && down.isEmpty { return }
    }
}

/// Everything the codec has to send, taken through a small lent buffer (so `produce`'s
/// leftover path is exercised too).
func drain(_ codec: H2ServerCodec, bufferSize: Int = 1000) throws -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: bufferSize)
    while true {
        let n = try buffer.withUnsafeMutableBytes { try codec.produce(into: $0) }
        out += buffer[0..<n]
        if n < bufferSize { return out }
    }
}

func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

/// The codec's events as readable lines (bytes included), then cleared.
func takeEvents(_ codec: H2ServerCodec) -> [String] {
    let inbound = codec.inbound
    let lines = codec.events.map { event -> String in
        switch event {
        case .request(let head):
            var line = "request \(head.stream) \(text(inbound.bytes[head.method]))"
            for part in [head.scheme, head.authority, head.path] { line += " " + (part.map { text(inbound.bytes[$0]) } ?? "-") }
            let fields = head.fields.map { "\(text(inbound.name(at: $0))): \(text(inbound.value(at: $0)))" }
            return line + " [" + fields.joined(separator: ", ") + "]" + (head.endStream ? " end" : "")
        case .data(let stream, let bytes): return "data \(stream) \(text(inbound.bytes[bytes]))"
        case .trailers(let stream, let fields):
            return "trailers \(stream) [" + fields.map { "\(text(inbound.name(at: $0))): \(text(inbound.value(at: $0)))" }
                .joined(separator: ", ") + "]"
        case .requestEnd(let stream): return "end \(stream)"
        case .reset(let stream, let error): return "reset \(stream) \(error)"
        case .closed(let stream, let error): return "closed \(stream) \(error)"
        case .goAway(let last, let error): return "goaway \(last) \(error)"
        case .connectionError(let error): return "connection-error \(error)"
        }
    }
    codec.clearEvents()
    return lines
}

/// A connection whose preface and SETTINGS have gone both ways (the client knows the server's
/// limits, the server's SETTINGS are acknowledged).
func connected(_ settings: H2Settings = H2Settings(), client clientSettings: [nghttp2_settings_entry] = [])
    throws -> (TestClient, H2ServerCodec) {
    let codec = try H2ServerCodec(settings: settings)
    let client = TestClient(settings: clientSettings)
    try pump(client, codec)
    _ = takeEvents(codec)
    return (client, codec)
}

/// Frames in `bytes` as (type, flags, stream, payload).
func frames(_ bytes: [UInt8]) -> [(type: UInt8, flags: UInt8, stream: Int32, payload: ArraySlice<UInt8>)] {
    var result: [(UInt8, UInt8, Int32, ArraySlice<UInt8>)] = []
    var i = 0
    while i + 9 <= bytes.count {
        let length = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
        let stream = Int32(bytes[i + 5] & 0x7F) << 24 | Int32(bytes[i + 6]) << 16 | Int32(bytes[i + 7]) << 8 | Int32(bytes[i + 8])
        guard i + 9 + length <= bytes.count else { break }
        result.append((bytes[i + 3], bytes[i + 4], stream, bytes[(i + 9)..<(i + 9 + length)]))
        i += 9 + length
    }
    return result
}

/// One raw frame.
func frame(type: UInt8, flags: UInt8 = 0, stream: Int32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
    let n = payload.count
    return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
            UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
}

let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

/// The error code of the GOAWAY frames in `bytes` (last stream id, error).
func goAways(in bytes: [UInt8]) -> [(last: Int32, error: UInt32)] {
    frames(bytes).filter { $0.type == 0x7 }.map { f in
        let p = Array(f.payload)
        let last = Int32(p[0] & 0x7F) << 24 | Int32(p[1]) << 16 | Int32(p[2]) << 8 | Int32(p[3])
        let error = UInt32(p[4]) << 24 | UInt32(p[5]) << 16 | UInt32(p[6]) << 8 | UInt32(p[7])
        return (last, error)
    }
}

extension H2ServerCodec {
    func respond(_ stream: H2StreamID, _ status: Int, _ headers: [(name: String, value: String)] = [], endStream: Bool) throws {
        try respond(stream: stream, status: status, headers: H2FieldList(headers), endStream: endStream)
    }
    func appendBody(_ stream: H2StreamID, _ string: String) throws {
        try Array(string.utf8).withUnsafeBytes { try appendBody(stream: stream, bytes: $0) }
    }
}

/// The field names the proxy acts on. A finer split than `FieldKind`: the head parsers need to
/// tell Connection from Keep-Alive, and to see Expect, although all of them forward the same way.
enum KnownField {
    case connection
    case keepAlive
    case te
    case trailer
    case proxyConnection
    case upgrade
    case transferEncoding
    case contentLength
    case host
    case xForwardedFor
    case xForwardedProto
    case expect
    case other

    /// Classifies `bytes[name]` case-insensitively: a switch on the length first, so most
    /// names cost one comparison at most, and nothing is allocated.
    init(_ bytes: UnsafeRawBufferPointer, name: Range<Int>) {
        switch name.count {
        case 2:
            self = equalsLowercase(bytes, name, "te") ? .te : .other
        case 4:
            self = equalsLowercase(bytes, name, "host") ? .host : .other
        case 6:
            self = equalsLowercase(bytes, name, "expect") ? .expect : .other
        case 7:
            if equalsLowercase(bytes, name, "upgrade") { self = .upgrade }
            else if equalsLowercase(bytes, name, "trailer") { self = .trailer }
            else { self = .other }
        case 10:
            if equalsLowercase(bytes, name, "connection") { self = .connection }
            else if equalsLowercase(bytes, name, "keep-alive") { self = .keepAlive }
            else { self = .other }
        case 14:
            self = equalsLowercase(bytes, name, "content-length") ? .contentLength : .other
        case 15:
            self = equalsLowercase(bytes, name, "x-forwarded-for") ? .xForwardedFor : .other
        case 16:
            self = equalsLowercase(bytes, name, "proxy-connection") ? .proxyConnection : .other
        case 17:
            if equalsLowercase(bytes, name, "transfer-encoding") { self = .transferEncoding }
            else if equalsLowercase(bytes, name, "x-forwarded-proto") { self = .xForwardedProto }
            else { self = .other }
        default:
            self = .other
        }
    }

    /// How the proxy forwards a field of this name.
    var kind: FieldKind {
        switch self {
        case .connection, .keepAlive, .te, .trailer, .proxyConnection: .hopByHop
        case .upgrade: .upgrade
        case .transferEncoding: .transferEncoding
        case .contentLength: .contentLength
        case .host: .host
        case .xForwardedFor: .xForwardedFor
        case .xForwardedProto: .xForwardedProto
        case .expect, .other: .other
        }
    }
}

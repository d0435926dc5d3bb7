/// What the fields of one head say about framing and connection management, gathered while the
/// fields are read so the head is walked once (a second walk happens only for the rare
/// Connection option naming another field).
struct FieldSummary {
    var contentLength: UInt64?
    var transferCodings = TransferCodings()
    var hostCount = 0
    var connectionClose = false
    var connectionKeepAlive = false
    var connectionUpgrade = false
    /// A Connection option other than close / keep-alive / upgrade: it names a field that must be
    /// re-classified as hop-by-hop once all fields are known.
    var connectionNamesFields = false
    var upgradeField = false
    var expectContinue = false

    mutating func record(_ known: KnownField, value: Range<Int>, in bytes: UnsafeRawBufferPointer) throws(HTTPParseError) {
        switch known {
        case .contentLength:
            let n = try parseContentLength(bytes, value)
            if let previous = contentLength, previous != n { throw .conflictingContentLength }
            contentLength = n
        case .transferEncoding:
            try transferCodings.add(bytes, value)
        case .host:
            hostCount += 1
            guard isValidHost(bytes, value) else { throw .badHost }
        case .connection:
            var options = ListElements(bytes, value)
            while let option = options.next() {
                guard isToken(bytes, option) else { throw .badConnection }
                if equalsLowercase(bytes, option, "close") { connectionClose = true }
                else if equalsLowercase(bytes, option, "keep-alive") { connectionKeepAlive = true }
                else if equalsLowercase(bytes, option, "upgrade") { connectionUpgrade = true }
                else { connectionNamesFields = true }
            }
        case .upgrade:
            upgradeField = true
        case .expect:
            if equalsLowercase(bytes, value, "100-continue") { expectContinue = true }
        case .keepAlive, .te, .trailer, .proxyConnection, .xForwardedFor, .xForwardedProto, .other:
            break
        }
    }
}

/// Reads field lines from `start` up to the empty line that ends the section, appending to
/// `fields` (whose capacity the caller reuses) and folding each field into `summary`.
/// Returns the offset just past the final CRLF, or nil if the section is not complete within
/// `end`. More than `maxFields` fields → 431.
func parseFieldSection(
    _ bytes: UnsafeRawBufferPointer, from start: Int, end: Int, maxFields: Int,
    fields: inout [HeaderField], summary: inout FieldSummary
) throws(HTTPParseError) -> Int? {
    var position = start
    while true {
        switch try parseFieldLine(bytes, at: position, end: end) {
        case .incomplete:
            return nil
        case .endOfSection(let next):
            return next
        case .field(let name, let value, let next):
            guard fields.count < maxFields else { throw .tooManyFields }
            let known = KnownField(bytes, name: name)
            try summary.record(known, value: value, in: bytes)
            fields.append(HeaderField(name: name, value: value, kind: known.kind))
            position = next
        }
    }
}

/// Re-classifies as `.hopByHop` every field named by a Connection option (RFC 9110 §7.6.1).
/// Only `.other` fields are demoted: a client must not be able to make the proxy drop Host or
/// the framing fields (Content-Length, Transfer-Encoding) by naming them in Connection — that
/// would let it desynchronise framing between us and the upstream. X-Forwarded-* are rewritten by
/// the proxy anyway, and Upgrade is governed by `upgrade`.
/// Called only when `FieldSummary.connectionNamesFields` is set, so the common path never pays.
func demoteConnectionNominatedFields(_ fields: inout [HeaderField], in bytes: UnsafeRawBufferPointer) {
    for index in fields.indices where fields[index].kind == .other {
        // Decide first, mutate after: mutating while iterating `fields` would copy the array.
        if isNamedByConnection(fields[index].name, fields: fields, in: bytes) {
            fields[index].kind = .hopByHop
        }
    }
}

private func isNamedByConnection(_ name: Range<Int>, fields: [HeaderField], in bytes: UnsafeRawBufferPointer) -> Bool {
    for connection in fields where connection.kind == .hopByHop {
        guard case .connection = KnownField(bytes, name: connection.name) else { continue }
        var options = ListElements(bytes, connection.value)
        while let option = options.next() {
            if equalsCaseInsensitive(bytes, option, name) { return true }
        }
    }
    return false
}

/// Finding fields the proxy acts on by a name known only at run time (an override header, a
/// sticky cookie), without allocating. Used only when a route configures such a rule.

/// The index in `head.fields` of the first field named `name` (ASCII, compared
/// case-insensitively), or nil.
public func indexOfField(named name: UnsafeRawBufferPointer, in fields: [HeaderField],
                         source: UnsafeRawBufferPointer) -> Int? {
    for (i, field) in fields.enumerated() where equalsIgnoringCase(name, source, field.name) { return i }
    return nil
}

/// The value of cookie `name` in the Cookie fields of a request (RFC 6265 §5.4: `a=1; b=2`,
/// names compared exactly), as a range into `source`; the first match wins.
public func cookieValue(named name: UnsafeRawBufferPointer, in fields: [HeaderField],
                        source: UnsafeRawBufferPointer) -> Range<Int>? {
    var found: Range<Int>?
    forEachCookie(in: fields, source: source) { cookieName, value in
        guard UnsafeRawBufferPointer(rebasing: source[cookieName]).elementsEqual(name) else { return true }
        found = value
        return false
    }
    return found
}

/// Whether some field named `name` (any case) has exactly `value`, or exists when `value` is nil.
/// Every occurrence of a repeated field counts.
public func anyField(named name: UnsafeRawBufferPointer, equals value: UnsafeRawBufferPointer?,
                     in fields: [HeaderField], source: UnsafeRawBufferPointer) -> Bool {
    for field in fields where field.name.count == name.count && equalsIgnoringCase(name, source, field.name) {
        guard let value else { return true }
        if UnsafeRawBufferPointer(rebasing: source[field.value]).elementsEqual(value) { return true }
    }
    return false
}

/// Whether some cookie named `name` (exact, RFC 6265) has exactly `value`, or exists when `value`
/// is nil, in any Cookie field.
public func anyCookie(named name: UnsafeRawBufferPointer, equals value: UnsafeRawBufferPointer?,
                      in fields: [HeaderField], source: UnsafeRawBufferPointer) -> Bool {
    var found = false
    forEachCookie(in: fields, source: source) { cookieName, cookieValue in
        guard UnsafeRawBufferPointer(rebasing: source[cookieName]).elementsEqual(name) else { return true }
        if let value, !UnsafeRawBufferPointer(rebasing: source[cookieValue]).elementsEqual(value) { return true }
        found = true
        return false
    }
    return found
}

/// Calls `body` with the name and value ranges of each `name=value` pair of the Cookie fields,
/// in order, until it returns false. Pairs without "=" are skipped; values lose trailing spaces.
func forEachCookie(in fields: [HeaderField], source: UnsafeRawBufferPointer,
                   _ body: (_ name: Range<Int>, _ value: Range<Int>) -> Bool) {
    for field in fields where equalsLowercase(source, field.name, "cookie") {
        var i = field.value.lowerBound
        let end = field.value.upperBound
        while i < end {
            while i < end && (source[i] == 0x20 || source[i] == 0x3B) { i += 1 }  // SP and ';'
            let nameStart = i
            while i < end && source[i] != 0x3D && source[i] != 0x3B { i += 1 }   // '=' ';'
            let nameEnd = i
            guard i < end, source[i] == 0x3D else { continue }
            i += 1
            let valueStart = i
            while i < end && source[i] != 0x3B { i += 1 }
            var valueEnd = i
            while valueEnd > valueStart && source[valueEnd - 1] == 0x20 { valueEnd -= 1 }
            if !body(nameStart..<nameEnd, valueStart..<valueEnd) { return }
        }
    }
}

/// `name` equals the bytes of `source` at `range`, ignoring ASCII case.
@inline(__always)
public func equalsIgnoringCase(_ name: UnsafeRawBufferPointer, _ source: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
    guard name.count == range.count else { return false }
    for k in 0..<name.count where ASCII.lowercased(source[range.lowerBound + k]) != ASCII.lowercased(name[k]) { return false }
    return true
}

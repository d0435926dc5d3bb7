/// Finding fields the proxy acts on by a name known only at run time (an override header, a
/// sticky cookie), without allocating. Used only when a route configures such a rule.

/// The index in `head.fields` of the first field named `name` (ASCII, compared
/// case-insensitively), or nil.
public func indexOfField(named name: UnsafeRawBufferPointer, in fields: [HeaderField],
                         source: UnsafeRawBufferPointer) -> Int? {
    for (i, field) in fields.enumerated() where field.name.count == name.count {
        var equal = true
        for k in 0..<name.count where ASCII.lowercased(source[field.name.lowerBound + k]) != ASCII.lowercased(name[k]) {
            equal = false
            break
        }
        if equal { return i }
    }
    return nil
}

/// The value of cookie `name` in the Cookie fields of a request (RFC 6265 §5.4: `a=1; b=2`,
/// names compared exactly), as a range into `source`; the first match wins.
public func cookieValue(named name: UnsafeRawBufferPointer, in fields: [HeaderField],
                        source: UnsafeRawBufferPointer) -> Range<Int>? {
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
            if nameEnd - nameStart == name.count {
                var equal = true
                for k in 0..<name.count where source[nameStart + k] != name[k] {
                    equal = false
                    break
                }
                if equal { return valueStart..<valueEnd }
            }
        }
    }
    return nil
}

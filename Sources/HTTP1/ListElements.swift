/// Walks the elements of a comma-separated list field value (RFC 9110 §5.6.1) without copying:
/// empty elements are skipped, as the RFC asks recipients to do, and each element is trimmed of
/// OWS. Elements are not validated here; callers check them against their own grammar.
struct ListElements {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) {
        self.bytes = bytes
        self.position = value.lowerBound
        self.end = value.upperBound
    }

    /// The next non-empty element, or nil when the list is exhausted.
    mutating func next() -> Range<Int>? {
        while position < end && (ASCII.isWhitespace(bytes[position]) || bytes[position] == ASCII.comma) {
            position += 1
        }
        guard position < end else { return nil }
        let start = position
        var last = position
        while position < end && bytes[position] != ASCII.comma {
            if !ASCII.isWhitespace(bytes[position]) { last = position }
            position += 1
        }
        return start..<(last + 1)
    }
}

/// True when every byte of `bytes[range]` is a tchar and the range is not empty.
@inline(__always)
func isToken(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
    guard !range.isEmpty else { return false }
    for i in range where !ASCII.isTchar(bytes[i]) { return false }
    return true
}

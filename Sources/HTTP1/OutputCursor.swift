/// Appends bytes to a caller-provided buffer. Writing past the end does not trap: the cursor
/// remembers the overflow and `result` becomes nil, so serializers write straight through and
/// check once at the end (the caller then grows its buffer and retries).
struct OutputCursor {
    let out: UnsafeMutableRawBufferPointer
    private(set) var position = 0
    private(set) var overflowed = false

    init(_ out: UnsafeMutableRawBufferPointer) {
        self.out = out
    }

    /// The number of bytes written, or nil if they did not fit.
    var result: Int? { overflowed ? nil : position }

    @inline(__always)
    mutating func write(_ source: UnsafeRawBufferPointer) {
        guard !overflowed else { return }
        guard source.count <= out.count - position else {
            overflowed = true
            return
        }
        if source.isEmpty { return }
        UnsafeMutableRawBufferPointer(rebasing: out[position..<(position + source.count)])
            .copyMemory(from: source)
        position += source.count
    }

    @inline(__always)
    mutating func write(_ source: UnsafeRawBufferPointer, _ range: Range<Int>) {
        write(UnsafeRawBufferPointer(rebasing: source[range]))
    }

    @inline(__always)
    mutating func write(_ literal: StaticString) {
        literal.withUTF8Buffer { write(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func writeByte(_ byte: UInt8) {
        guard !overflowed else { return }
        guard position < out.count else {
            overflowed = true
            return
        }
        out[position] = byte
        position += 1
    }

    /// Writes `value` in decimal without building a string.
    mutating func writeDecimal(_ value: UInt64) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        guard !overflowed else { return }
        guard digits <= out.count - position else {
            overflowed = true
            return
        }
        var v = value
        var k = position + digits - 1
        while k >= position {
            out[k] = 0x30 &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
            k -= 1
        }
        position += digits
    }

    /// Writes `name: value CRLF` from spans of `source`, normalising the separator to ": ".
    @inline(__always)
    mutating func writeField(_ field: HeaderField, from source: UnsafeRawBufferPointer) {
        write(source, field.name)
        write(": ")
        write(source, field.value)
        write("\r\n")
    }
}

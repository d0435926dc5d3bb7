/// One header field as two ranges into its list's `bytes`.
public struct H2Field: Sendable, Equatable {
    public var name: Range<Int>
    public var value: Range<Int>
}

/// Header fields (and, in the codec's inbound scratch, DATA bytes) packed in one byte array:
/// appending copies the bytes once, and `removeAll` keeps the capacity, so a list reused for
/// every request of a connection stops allocating once it has grown to its working size.
public struct H2FieldList: Sendable {
    public private(set) var bytes: [UInt8] = []
    public private(set) var fields: [H2Field] = []

    public init() {}

    /// A list holding `pairs` in order (for tests and small fixed answers).
    public init(_ pairs: [(name: String, value: String)]) {
        for pair in pairs { append(name: pair.name, value: pair.value) }
    }

    public var count: Int { fields.count }

    public func name(at index: Int) -> ArraySlice<UInt8> { bytes[fields[index].name] }
    public func value(at index: Int) -> ArraySlice<UInt8> { bytes[fields[index].value] }

    public mutating func append(name: String, value: String) {
        var name = name, value = value
        name.withUTF8 { n in value.withUTF8 { v in append(name: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v)) } }
    }

    public mutating func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let n = appendBytes(name)
        let v = appendBytes(value)
        fields.append(H2Field(name: n, value: v))
    }

    public mutating func append<Name: Collection<UInt8>, Value: Collection<UInt8>>(name: Name, value: Value) {
        let start = bytes.count
        bytes.append(contentsOf: name)
        let middle = bytes.count
        bytes.append(contentsOf: value)
        fields.append(H2Field(name: start..<middle, value: middle..<bytes.count))
    }

    /// Appends raw bytes (no field) and returns where they landed.
    @discardableResult
    public mutating func appendBytes(_ raw: UnsafeRawBufferPointer) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: raw)
        return start..<bytes.count
    }

    /// Appends `range` of the list's own bytes again (a field built from earlier pieces).
    mutating func appendField(name: Range<Int>, value: Range<Int>) {
        fields.append(H2Field(name: name, value: value))
    }

    mutating func appendOwnBytes(_ range: Range<Int>) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: bytes[range])
        return start..<bytes.count
    }

    mutating func appendByte(_ byte: UInt8) { bytes.append(byte) }

    /// Empties the list, keeping its storage.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
    }
}

import HTTP1

/// A route's or rule's header edits, prepared for the hot path: the names of the fields to drop
/// (removed, and replaced by `set`) and the lines to add, as bytes with `${route}` and `${pool}`
/// left as holes filled while writing. Applying them allocates nothing.
public struct HeaderEdits: Sendable {
    /// Lower-cased names of the fields dropped from the head.
    public let dropping: [[UInt8]]
    /// The added lines (`Name: value\r\n`), in pieces.
    public let pieces: [Piece]

    public enum Piece: Sendable, Equatable {
        case bytes([UInt8])
        case routeName
        case poolName
    }

    public static let none = HeaderEdits(replacing: [], adding: [], removing: [])

    /// `replacing` and `adding` are (name, value) pairs as configured; values may hold
    /// `${route}` and `${pool}`.
    public init(replacing: [(String, String)], adding: [(String, String)], removing: [String]) {
        dropping = (removing + replacing.map(\.0)).map { Array($0.lowercased().utf8) }
        var pieces: [Piece] = []
        for (name, value) in replacing + adding {
            var literal = Array("\(name): ".utf8)
            let bytes = Array(value.utf8)
            var i = 0
            while i < bytes.count {
                if let (hole, length) = HeaderEdits.hole(in: bytes, at: i) {
                    pieces.append(.bytes(literal))
                    pieces.append(hole)
                    literal = []
                    i += length
                } else {
                    literal.append(bytes[i])
                    i += 1
                }
            }
            literal += Array("\r\n".utf8)
            pieces.append(.bytes(literal))
        }
        self.pieces = pieces.filter { $0 != .bytes([]) }
    }

    public var isEmpty: Bool { dropping.isEmpty && pieces.isEmpty }

    /// `${route}` or `${pool}` at `i`, and its length.
    private static func hole(in bytes: [UInt8], at i: Int) -> (Piece, Int)? {
        for (text, piece) in [("${route}", Piece.routeName), ("${pool}", Piece.poolName)] {
            let t = Array(text.utf8)
            if i + t.count <= bytes.count && Array(bytes[i..<(i + t.count)]) == t { return (piece, t.count) }
        }
        return nil
    }

    /// Marks the fields this edit drops as hop-by-hop, which the head writers skip.
    func drop(from fields: inout [HeaderField], source: UnsafeRawBufferPointer) {
        guard !dropping.isEmpty else { return }
        for i in fields.indices {
            for name in dropping where name.withUnsafeBytes({ equalsIgnoringCase($0, source, fields[i].name) }) {
                fields[i].kind = .hopByHop
            }
        }
    }

    /// Appends the added lines to `lines` (the worker's reused array: no allocation once it has
    /// grown to the longest edits).
    func append(route: [UInt8], pool: [UInt8], to lines: inout [UInt8]) {
        for piece in pieces {
            switch piece {
            case .bytes(let b): lines.append(contentsOf: b)
            case .routeName: lines.append(contentsOf: route)
            case .poolName: lines.append(contentsOf: pool)
            }
        }
    }
}

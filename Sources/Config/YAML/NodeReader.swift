import Yams

/// Reads typed values out of Yams nodes.
///
/// Yams' own accessors (`node.int`, `node.string`) answer `nil` and forget where the node was; the
/// config needs both the reason and the position, so every mismatch here becomes a `ConfigError`
/// pointing at the offending node. Scalars are read from their text, not from Yams' YAML 1.1 type
/// guess, so `off`, `on` and `0755` mean what the schema says they mean.
struct NodeReader {
    /// The file name errors carry, as the user gave it.
    let file: String

    /// The 1-based line and column of `node` (Yams counts columns in Unicode scalars, as editors do).
    func location(of node: Node) -> SourceLocation {
        guard let mark = node.mark else { return SourceLocation(file: file, line: 1, column: 1) }
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    func error(_ node: Node, _ message: String) -> ConfigError {
        ConfigError(location(of: node), message)
    }

    /// True for `~`, `null` and an empty value (`key:` with nothing after it).
    static func isNull(_ node: Node) -> Bool {
        guard node.scalar != nil else { return false }
        return node.tag.description == Tag.Name.null.rawValue
    }

    /// What a node is, for the "found …" half of a message.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar): return isNull(node) ? "nothing" : "'\(scalar.string)'"
        }
    }

    /// The standard wrong-value message: `invalid 'path': expected X, found Y`.
    func mismatch(_ node: Node, _ path: String, expected: String) -> ConfigError {
        error(node, "invalid '\(path)': expected \(expected), found \(Self.describe(node))")
    }

    /// The text of a non-null scalar; anything else is reported as not being `expected`.
    func text(_ node: Node, _ path: String, expected: String) throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            throw mismatch(node, path, expected: expected)
        }
        return scalar.string
    }

    /// A non-empty string. Numbers and booleans are taken as written (a token may be all digits).
    func string(_ node: Node, _ path: String) throws(ConfigError) -> String {
        let value = try text(node, path, expected: "a string")
        guard !value.isEmpty else { throw error(node, "invalid '\(path)': must not be empty") }
        return value
    }

    /// A decimal integer within `range`. Hex, octal and floats are refused: a weight of `0x10` or
    /// `1.5` is a mistake, not a clever spelling.
    func int(_ node: Node, _ path: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let raw = try text(node, path, expected: "an integer")
        guard let value = Self.decimal(raw) else { throw mismatch(node, path, expected: "an integer") }
        guard range.contains(value) else {
            let bounds = range.upperBound == Int.max
                ? "at least \(range.lowerBound)"
                : "between \(range.lowerBound) and \(range.upperBound)"
            throw error(node, "invalid '\(path)': must be \(bounds), found \(raw)")
        }
        return value
    }

    /// `[+-]?[0-9]+` as an `Int`, or nil.
    static func decimal(_ text: String) -> Int? {
        var digits = Substring(text)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// `true`/`false`, plus the YAML 1.1 spellings `yes`/`no`/`on`/`off` operators still write.
    func bool(_ node: Node, _ path: String) throws(ConfigError) -> Bool {
        let raw = try text(node, path, expected: "true or false")
        switch raw.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw mismatch(node, path, expected: "true or false")
        }
    }

    /// A duration (see `Duration.init(parsing:)`); `allowZero` is false where 0 would mean "never"
    /// or "busy loop" (intervals, timeouts).
    func duration(_ node: Node, _ path: String, allowZero: Bool) throws(ConfigError) -> Duration {
        let expected = "a duration like 250ms, 2s or 5m"
        let raw = try text(node, path, expected: expected)
        guard let value = Duration(parsing: raw) else {
            let hint = Self.decimal(raw) != nil ? " (a number needs a unit)" : ""
            throw error(node, "invalid '\(path)': expected \(expected), found '\(raw)'\(hint)")
        }
        if !allowZero && value.nanoseconds == 0 {
            throw error(node, "invalid '\(path)': must be greater than 0")
        }
        return value
    }

    /// `HOST:PORT`, with the parser's reason in the message.
    func hostPort(_ node: Node, _ path: String) throws(ConfigError) -> HostPort {
        let raw = try text(node, path, expected: "an address like 127.0.0.1:8080")
        do {
            return try HostPort.parse(raw)
        } catch {
            throw self.error(node, "invalid '\(path)': \(error.message)")
        }
    }

    /// One of an enum's spellings, e.g. `round_robin | least_request | random`.
    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, as type: T.Type)
        throws(ConfigError) -> T where T.RawValue == String
    {
        let names = T.allCases.map(\.rawValue)
        let expected = names.map { "'\($0)'" }.joined(separator: ", ")
        let raw = try text(node, path, expected: "one of \(expected)")
        guard let value = T(rawValue: raw) else {
            var message = "invalid '\(path)': expected one of \(expected), found '\(raw)'"
            if let close = Suggestion.closest(to: raw, among: names) { message += " (did you mean '\(close)'?)" }
            throw error(node, message)
        }
        return value
    }

    /// The items of a list; `nonEmpty` says an empty list is an error (at the list's position).
    func list(_ node: Node, _ path: String, nonEmpty: Bool) throws(ConfigError) -> [Node] {
        guard case .sequence(let sequence) = node else { throw mismatch(node, path, expected: "a list") }
        let items = Array(sequence)
        if nonEmpty && items.isEmpty { throw error(node, "invalid '\(path)': must not be empty") }
        return items
    }

    /// A mapping whose keys are fixed by the schema: unknown keys are errors.
    func section(_ node: Node, _ path: String, allowed: [String]) throws(ConfigError) -> MappingSection {
        try MappingSection(node, path: path, allowed: allowed, reader: self)
    }

    /// A mapping whose keys are user-chosen names (routes, pools, a route's split).
    func namedEntries(_ node: Node, _ path: String) throws(ConfigError) -> MappingSection {
        try MappingSection(node, path: path, allowed: nil, reader: self)
    }
}

import Yams

/// One YAML mapping of the config, checked on construction: every key is a plain scalar, no key
/// appears twice, and (for schema sections) every key is one the schema knows.
///
/// Unknown keys are errors because a typo must not silently do nothing; duplicate keys are errors
/// because YAML leaves their meaning undefined and Yams would silently keep one. YAML merge keys
/// (`<<: *defaults`) are expanded, explicit keys winning, so shared blocks can be anchored once.
struct MappingSection {
    /// One key of the mapping, in file order.
    struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
    }

    /// The mapping node itself; "missing key" errors point here.
    let node: Node
    /// Dotted path of this section (`pools.blue.health_check`); empty for the document root.
    let path: String
    /// The entries in file order (merged entries after explicit ones).
    let entries: [Entry]
    private let reader: NodeReader

    /// - Parameter allowed: the schema's keys, or nil when keys are names chosen by the user.
    init(_ node: Node, path: String, allowed: [String]?, reader: NodeReader) throws(ConfigError) {
        guard case .mapping(let mapping) = node else {
            throw reader.mismatch(node, path.isEmpty ? "document" : path, expected: "a mapping")
        }
        self.node = node
        self.path = path
        self.reader = reader
        let place = path.isEmpty ? "at the top level" : "in \(path)"
        var entries: [Entry] = []
        var seen: [String: Node] = [:]
        var mergeSources: [Node] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode, !NodeReader.isNull(keyNode) else {
                throw reader.error(keyNode, "keys \(place) must be plain names, found \(NodeReader.describe(keyNode))")
            }
            let key = scalar.string
            if key == "<<" && scalar.style == .plain {
                mergeSources.append(value)
                continue
            }
            if let first = seen[key] {
                let line = reader.location(of: first).line
                throw reader.error(keyNode, "duplicate key '\(key)' \(place) (first defined on line \(line))")
            }
            if let allowed, !allowed.contains(key) {
                var message = "unknown key '\(key)' \(place)"
                if let close = Suggestion.closest(to: key, among: allowed) { message += " (did you mean '\(close)'?)" }
                throw reader.error(keyNode, message)
            }
            seen[key] = keyNode
            entries.append(Entry(key: key, keyNode: keyNode, value: value))
        }
        // Merge sources: a mapping, or a list of mappings where earlier ones win (YAML merge spec).
        for source in mergeSources {
            let mappings: [Node]
            if case .sequence(let list) = source { mappings = Array(list) } else { mappings = [source] }
            for merged in mappings {
                let inner = try MappingSection(merged, path: path, allowed: allowed, reader: reader)
                for entry in inner.entries where seen[entry.key] == nil {
                    seen[entry.key] = entry.keyNode
                    entries.append(entry)
                }
            }
        }
        self.entries = entries
    }

    /// The value of `key`, or nil when the key is absent.
    func value(_ key: String) -> Node? {
        entries.first { $0.key == key }?.value
    }

    /// The value of `key`; its absence is reported at this mapping's position.
    func required(_ key: String) throws(ConfigError) -> Node {
        guard let value = value(key) else {
            let place = path.isEmpty ? "at the top level" : "in \(path)"
            throw reader.error(node, "missing required key '\(key)' \(place)")
        }
        return value
    }

    /// The dotted path of a child key, for messages.
    func child(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}

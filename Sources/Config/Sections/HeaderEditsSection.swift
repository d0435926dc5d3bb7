import Yams

/// `request_headers:` / `response_headers:` on a route or a rule:
/// `{ set: { Name: value }, add: { Name: value }, remove: [Name, …] }`. The fields the proxy
/// owns (framing, hop-by-hop, Host, X-Forwarded-*) cannot be edited: a rule must never make the
/// two ends read a message differently.
enum HeaderEditsSection {
    static let keys = ["set", "add", "remove"]

    enum Direction { case request, response }

    /// Lower-cased names no edit may touch, per direction.
    static func reserved(_ direction: Direction) -> Set<String> {
        let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                                     "upgrade", "content-length"]
        switch direction {
        case .request: return hopByHop.union(["host", "x-forwarded-for", "x-forwarded-proto"])
        case .response: return hopByHop
        }
    }

    static func parse(_ node: Node, path: String, direction: Direction, reader: NodeReader) throws(ConfigError) -> HeaderEditsConfig {
        let section = try reader.section(node, path, allowed: keys)
        var edits = HeaderEditsConfig()
        if let value = section.value("set") {
            edits.replacing = try lines(value, path: section.child("set"), direction: direction, reader: reader)
        }
        if let value = section.value("add") {
            edits.adding = try lines(value, path: section.child("add"), direction: direction, reader: reader)
        }
        if let value = section.value("remove") {
            let listPath = section.child("remove")
            for (index, item) in try reader.list(value, listPath, nonEmpty: true).enumerated() {
                edits.removing.append(try name(item, "\(listPath)[\(index)]", direction: direction, reader: reader))
            }
        }
        return edits
    }

    private static func lines(_ node: Node, path: String, direction: Direction,
                              reader: NodeReader) throws(ConfigError) -> [HeaderLineConfig] {
        let entries = try reader.namedEntries(node, path)
        var lines: [HeaderLineConfig] = []
        for entry in entries.entries {
            let fieldName = try name(entry.keyNode, path, direction: direction, reader: reader)
            let valuePath = entries.child(entry.key)
            let value = try reader.text(entry.value, valuePath, expected: "a header value")
            guard value.unicodeScalars.allSatisfy({ $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F) }) else {
                throw reader.error(entry.value, "invalid '\(valuePath)': a header value cannot hold line breaks or control characters")
            }
            lines.append(HeaderLineConfig(name: fieldName, value: value))
        }
        return lines
    }

    private static func name(_ node: Node, _ path: String, direction: Direction, reader: NodeReader) throws(ConfigError) -> String {
        let value = try NameRules.httpToken(node, path, what: "header name", reader: reader)
        if reserved(direction).contains(value.lowercased()) {
            throw reader.error(node, "invalid '\(path)': '\(value)' is managed by the proxy and cannot be edited")
        }
        return value
    }
}

import Yams

/// Names the operator chooses (listeners, routes, pools) and the HTTP tokens the proxy puts on the
/// wire (cookie and header names), read with their rules enforced at the node's position.
enum NameRules {
    /// - Parameter what: "listener name", "route name" or "pool name", for the message.
    static func name(_ node: Node, _ path: String, what: String, reader: NodeReader) throws(ConfigError) -> String {
        let value = try reader.string(node, path)
        guard Tokens.isName(value) else {
            throw reader.error(node, "invalid \(what) '\(value)': use letters, digits, '_', '-' and '.', starting with a letter or digit")
        }
        return value
    }

    static func httpToken(_ node: Node, _ path: String, what: String, reader: NodeReader) throws(ConfigError) -> String {
        let value = try reader.string(node, path)
        guard Tokens.isHTTPToken(value) else {
            throw reader.error(node, "invalid '\(path)': '\(value)' is not a valid \(what) (letters, digits and !#$%&'*+-.^_`|~ only)")
        }
        return value
    }
}

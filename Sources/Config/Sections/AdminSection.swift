import Yams

/// `admin: { listen, token }`. The admin API exists only when this section is present.
enum AdminSection {
    /// The parsed section plus the node of `listen`, for the cross-section address check.
    struct Parsed {
        var config: AdminConfig
        var listenNode: Node
    }

    static func parse(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> Parsed {
        let section = try reader.section(node, path, allowed: ["listen", "token"])
        let listenNode = try section.required("listen")
        let listen = try reader.hostPort(listenNode, section.child("listen"))
        var token: String?
        if let tokenNode = section.value("token") {
            let value = try reader.string(tokenNode, section.child("token"))
            guard Tokens.isBearerToken(value) else {
                throw reader.error(tokenNode, "invalid '\(section.child("token"))': must be printable ASCII without spaces")
            }
            token = value
        }
        return Parsed(config: AdminConfig(listen: listen, token: token, location: reader.location(of: listenNode)), listenNode: listenNode)
    }
}

import Yams

/// `listeners:` — a non-empty list of `{name, listen, protocol, route, tls, rules}`. Names and listen
/// addresses must be unique: two listeners on one address could never both bind.
enum ListenerSection {
    static let keys = ["name", "listen", "protocol", "route", "tls", "rules", "http2"]

    /// A listener plus the nodes later checks point at.
    struct Parsed {
        var config: ListenerConfig
        var nameNode: Node
        var listenNode: Node
        var routeNode: Node
        var rules: [RuleSection.Parsed] = []
    }

    static func parseAll(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> [Parsed] {
        var parsed: [Parsed] = []
        for (index, item) in try reader.list(node, path, nonEmpty: true).enumerated() {
            let listener = try parse(item, path: "\(path)[\(index)]", reader: reader)
            if let twin = parsed.first(where: { $0.config.name == listener.config.name }) {
                let line = reader.location(of: twin.nameNode).line
                throw reader.error(listener.nameNode,
                                   "duplicate listener name '\(listener.config.name)' (first used on line \(line))")
            }
            if let twin = parsed.first(where: { $0.config.listen == listener.config.listen }) {
                throw reader.error(listener.listenNode,
                                   "listen address \(listener.config.listen) is already used by listener '\(twin.config.name)'")
            }
            parsed.append(listener)
        }
        return parsed
    }

    static func parse(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> Parsed {
        let section = try reader.section(node, path, allowed: keys)
        let nameNode = try section.required("name")
        let name = try NameRules.name(nameNode, section.child("name"), what: "listener name", reader: reader)
        let listenNode = try section.required("listen")
        let listen = try reader.hostPort(listenNode, section.child("listen"))
        var proto = ListenerProtocol.http
        if let value = section.value("protocol") {
            proto = try reader.choice(value, section.child("protocol"), as: ListenerProtocol.self)
        }
        let routeNode = try section.required("route")
        let route = try reader.string(routeNode, section.child("route"))
        var tls: ListenerTLSConfig?
        if let value = section.value("tls") { tls = try parseTLS(value, path: section.child("tls"), reader: reader) }
        var config = ListenerConfig(name: name, listen: listen, proto: proto, route: route, tls: tls,
                                    location: reader.location(of: node))
        config.http2 = tls != nil && proto == .http ? .alpn : .off
        if let value = section.value("http2") {
            config.http2 = try http2(value, section.child("http2"), tls: tls != nil, proto: proto, reader: reader)
        }
        var rules: [RuleSection.Parsed] = []
        if let value = section.value("rules") {
            guard proto == .http else {
                throw reader.error(value, "invalid '\(section.child("rules"))': rules read HTTP requests; a 'tcp' listener has none")
            }
            rules = try RuleSection.parseAll(value, path: section.child("rules"), reader: reader)
            config.rules = rules.map(\.config)
        }
        return Parsed(config: config, nameNode: nameNode, listenNode: listenNode, routeNode: routeNode, rules: rules)
    }

    /// `http2: true | false | h2c`: true is ALPN h2 and needs `tls`; h2c needs a plain listener.
    static func http2(_ node: Node, _ path: String, tls: Bool, proto: ListenerProtocol,
                      reader: NodeReader) throws(ConfigError) -> HTTP2Mode {
        let raw = try reader.text(node, path, expected: "true, false or h2c")
        let mode: HTTP2Mode
        switch raw.lowercased() {
        case "h2c": mode = .h2c
        case "true", "yes", "on": mode = .alpn
        case "false", "no", "off": return .off
        default: throw reader.mismatch(node, path, expected: "true, false or h2c")
        }
        guard proto == .http else {
            throw reader.error(node, "invalid '\(path)': a 'tcp' listener relays bytes; HTTP/2 needs protocol: http")
        }
        if mode == .alpn && !tls {
            throw reader.error(node, "invalid '\(path)': without 'tls' clients reach HTTP/2 only with prior knowledge: write 'http2: h2c'")
        }
        if mode == .h2c && tls {
            throw reader.error(node, "invalid '\(path)': on a TLS listener HTTP/2 is chosen by ALPN: write 'http2: true'")
        }
        return mode
    }

    /// `tls: { certificates: [{cert, key}, …] }`. The files are not opened here: `check` must work on
    /// a machine without the keys, and the TLS layer reports unreadable files when it loads them.
    static func parseTLS(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> ListenerTLSConfig {
        let section = try reader.section(node, path, allowed: ["certificates"])
        let listPath = section.child("certificates")
        var certificates: [CertificateConfig] = []
        for (index, item) in try reader.list(section.required("certificates"), listPath, nonEmpty: true).enumerated() {
            let entry = try reader.section(item, "\(listPath)[\(index)]", allowed: ["cert", "key"])
            let cert = try reader.string(entry.required("cert"), entry.child("cert"))
            let key = try reader.string(entry.required("key"), entry.child("key"))
            certificates.append(CertificateConfig(cert: cert, key: key, location: reader.location(of: item)))
        }
        return ListenerTLSConfig(certificates: certificates)
    }
}

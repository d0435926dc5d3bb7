import Glibc
import Yams

/// `cluster: { etcd: [http://HOST:PORT, …], prefix: /cutover/prod, instance: NAME }`.
/// `etcd` and `prefix` are required; `instance` defaults to the host name.
enum ClusterSection {
    static func parse(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> ClusterConfig {
        let section = try reader.section(node, path, allowed: ["etcd", "prefix", "instance"])
        let etcdNode = try section.required("etcd")
        var endpoints: [ClusterConfig.Endpoint] = []
        let items: [Node]
        if case .scalar = etcdNode { items = [etcdNode] } else { items = try reader.list(etcdNode, section.child("etcd"), nonEmpty: true) }
        for item in items {
            let endpoint = try parseEndpoint(item, section.child("etcd"), reader: reader)
            if endpoints.contains(endpoint) {
                throw reader.error(item, "invalid '\(section.child("etcd"))': \(endpoint) is listed twice")
            }
            endpoints.append(endpoint)
        }
        let prefixNode = try section.required("prefix")
        let prefix = try parsePrefix(prefixNode, section.child("prefix"), reader: reader)
        var instance = hostName()
        if let instanceNode = section.value("instance") {
            instance = try reader.string(instanceNode, section.child("instance"))
            guard Tokens.isName(instance) else {
                throw reader.error(instanceNode, "invalid instance name '\(instance)': use letters, digits, '_', '-' and '.', starting with a letter or digit")
            }
        }
        return ClusterConfig(endpoints: endpoints, prefix: prefix, instance: instance, location: reader.location(of: node))
    }

    /// `http://HOST:PORT` (a bare `HOST:PORT` is taken as http too). `https://` is refused for
    /// now rather than silently spoken in clear.
    static func parseEndpoint(_ node: Node, _ path: String, reader: NodeReader) throws(ConfigError) -> ClusterConfig.Endpoint {
        let raw = try reader.text(node, path, expected: "an etcd URL like http://127.0.0.1:2379")
        var rest = Substring(raw)
        if raw.hasPrefix("https://") {
            throw reader.error(node, "invalid '\(path)': '\(raw)': TLS to etcd is not supported yet; use http:// on a trusted network")
        }
        if raw.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        do {
            let hostPort = try HostPort.parse(String(rest))
            return ClusterConfig.Endpoint(host: hostPort.host, port: hostPort.port)
        } catch {
            throw reader.error(node, "invalid '\(path)': '\(raw)': \(error.message) (expected an etcd URL like http://127.0.0.1:2379)")
        }
    }

    /// An absolute key path without a trailing slash, of printable ASCII without spaces.
    static func parsePrefix(_ node: Node, _ path: String, reader: NodeReader) throws(ConfigError) -> String {
        var prefix = try reader.string(node, path)
        guard prefix.hasPrefix("/"), prefix.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            throw reader.error(node, "invalid '\(path)': '\(prefix)' must start with '/' and hold printable ASCII without spaces, e.g. /cutover/prod")
        }
        while prefix.count > 1 && prefix.hasSuffix("/") { prefix.removeLast() }
        guard prefix != "/" else { throw reader.error(node, "invalid '\(path)': '/' would share the whole store; name the fleet, e.g. /cutover/prod") }
        return prefix
    }

    /// The host name up to its first dot ("edge-1" of "edge-1.example.net"), or "cutover".
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "cutover" }
        let full = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let short = String(full.prefix { $0 != "." })
        return Tokens.isName(short) ? short : "cutover"
    }
}

import Yams

/// `override: { header, allow_from }` — lets a request pin itself to a pool by naming it in a header,
/// which is how an operator smoke-tests the standby colour. Only clients in `allow_from` may do so,
/// loopback by default, so the header cannot be used from outside to bypass a split.
enum OverrideSection {
    static let defaultAllowFrom = ["127.0.0.0/8", "::1/128"]

    static func parse(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> OverrideConfig {
        let section = try reader.section(node, path, allowed: ["header", "allow_from"])
        let header = try NameRules.httpToken(section.required("header"), section.child("header"),
                                             what: "header name", reader: reader)
        var allowFrom = defaultAllowFrom
        if let value = section.value("allow_from") {
            let listPath = section.child("allow_from")
            allowFrom = []
            for (index, item) in try reader.list(value, listPath, nonEmpty: true).enumerated() {
                let itemPath = "\(listPath)[\(index)]"
                let text = try reader.text(item, itemPath, expected: "an address block like 10.0.0.0/8")
                do {
                    _ = try CIDRBlock.parse(text)
                } catch {
                    throw reader.error(item, "invalid '\(itemPath)': \(error.message)")
                }
                allowFrom.append(text)
            }
        }
        return OverrideConfig(header: header, allowFrom: allowFrom)
    }
}

extension OverrideConfig {
    /// `allowFrom` parsed; every entry was validated when the config was loaded, so none is lost.
    public var allowFromBlocks: [CIDRBlock] { allowFrom.compactMap(CIDRBlock.init(parsing:)) }
}

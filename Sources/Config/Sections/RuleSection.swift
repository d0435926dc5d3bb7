import HTTP1
import Yams

/// `listeners[].rules:` — a list of `{ [name], conditions…, route | respond | redirect, [edits] }`.
/// Conditions: `host` (exact or `*.` one-label wildcard, ASCII — IDNs in punycode), `path` or
/// `path_prefix` (normal form, from "/"), `header` and `cookie` (a mapping of name to an exact
/// value, or `true` for presence).
enum RuleSection {
    static let keys = ["name", "host", "path", "path_prefix", "header", "cookie", "route", "respond", "body",
                       "redirect", "redirect_status", "request_headers", "response_headers"]
    static let redirectStatuses = [301, 302, 303, 307, 308]

    /// A rule plus the node of its `route`, for the cross-reference check.
    struct Parsed {
        var config: RuleConfig
        var routeNode: Node?
    }

    static func parseAll(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> [Parsed] {
        var parsed: [Parsed] = []
        for (index, item) in try reader.list(node, path, nonEmpty: false).enumerated() {
            let rule = try parse(item, index: index, path: "\(path)[\(index)]", reader: reader)
            if let twin = parsed.first(where: { $0.config.name == rule.config.name }) {
                throw reader.error(item, "duplicate rule name '\(rule.config.name)' (first used on line \(twin.config.location.line))")
            }
            parsed.append(rule)
        }
        return parsed
    }

    static func parse(_ node: Node, index: Int, path: String, reader: NodeReader) throws(ConfigError) -> Parsed {
        let section = try reader.section(node, path, allowed: keys)
        var name = "rule\(index + 1)"
        if let value = section.value("name") {
            name = try NameRules.name(value, section.child("name"), what: "rule name", reader: reader)
        }
        let actions = ["route", "respond", "redirect"].filter { section.value($0) != nil }
        guard actions.count == 1 else {
            let found = actions.isEmpty ? "none" : actions.joined(separator: " and ")
            throw reader.error(node, "invalid '\(path)': a rule needs exactly one of 'route', 'respond' or 'redirect' (found \(found))")
        }
        var routeNode: Node?
        let action: RuleActionConfig
        switch actions[0] {
        case "route":
            routeNode = section.value("route")
            action = .route(try reader.string(routeNode!, section.child("route")))
        case "respond":
            let status = try reader.int(section.value("respond")!, section.child("respond"), in: 200...599)
            var body = ""
            if let value = section.value("body") { body = try reader.text(value, section.child("body"), expected: "a string") }
            action = .respond(status: status, body: body)
        default:
            action = .redirect(to: try redirectTarget(section.value("redirect")!, section.child("redirect"), reader: reader),
                               status: try redirectStatus(section, reader: reader))
        }
        if section.value("body") != nil && actions[0] != "respond" {
            throw reader.error(section.value("body")!, "invalid '\(section.child("body"))': 'body' goes with 'respond'")
        }
        if section.value("redirect_status") != nil && actions[0] != "redirect" {
            throw reader.error(section.value("redirect_status")!,
                               "invalid '\(section.child("redirect_status"))': 'redirect_status' goes with 'redirect'")
        }
        var rule = RuleConfig(name: name, action: action, location: reader.location(of: node))
        if let value = section.value("host") { rule.host = try host(value, section.child("host"), reader: reader) }
        if section.value("path") != nil && section.value("path_prefix") != nil {
            throw reader.error(section.value("path_prefix")!, "invalid '\(path)': use 'path' or 'path_prefix', not both")
        }
        if let value = section.value("path") { rule.path = try self.path(value, section.child("path"), reader: reader) }
        if let value = section.value("path_prefix") {
            rule.pathPrefix = try self.path(value, section.child("path_prefix"), reader: reader)
        }
        if let value = section.value("header") {
            rule.headers = try fields(value, section.child("header"), what: "header name", reader: reader)
        }
        if let value = section.value("cookie") {
            rule.cookies = try fields(value, section.child("cookie"), what: "cookie name", reader: reader)
        }
        if let value = section.value("request_headers") {
            rule.requestHeaders = try HeaderEditsSection.parse(value, path: section.child("request_headers"),
                                                               direction: .request, reader: reader)
        }
        if let value = section.value("response_headers") {
            rule.responseHeaders = try HeaderEditsSection.parse(value, path: section.child("response_headers"),
                                                                direction: .response, reader: reader)
        }
        return Parsed(config: rule, routeNode: routeNode)
    }

    /// A host name or `*.suffix`, ASCII letters, digits, '-' and '.', lower-cased.
    static func host(_ node: Node, _ path: String, reader: NodeReader) throws(ConfigError) -> String {
        var value = try reader.string(node, path).lowercased()
        if value.hasSuffix(".") { value.removeLast() }
        guard value.unicodeScalars.allSatisfy(\.isASCII) else {
            throw reader.error(node, "invalid '\(path)': write an internationalised name in its punycode form (xn--…), as clients send it")
        }
        let name = value.hasPrefix("*.") ? String(value.dropFirst(2)) : value
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !name.isEmpty, labels.allSatisfy({ label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }) else {
            throw reader.error(node, "invalid '\(path)': '\(value)' is not a host name (or '*.' and one)")
        }
        return value
    }

    /// A path from "/", already in the normal form requests are matched in (no "." or ".."
    /// segment, no percent-encoded unreserved character, upper-case hex): a rule written
    /// otherwise could never match.
    static func path(_ node: Node, _ path: String, reader: NodeReader) throws(ConfigError) -> String {
        let value = try reader.string(node, path)
        guard value.hasPrefix("/") else { throw reader.error(node, "invalid '\(path)': a path starts with '/'") }
        guard value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }) else {
            throw reader.error(node, "invalid '\(path)': a path has no spaces, '?', '#' or non-ASCII bytes (percent-encode them)")
        }
        let bytes = Array(value.utf8)
        let normal = bytes.withUnsafeBytes { source in
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: source.count, alignment: 1)
            defer { out.deallocate() }
            let length = normalizePath(source, into: out) ?? 0
            return String(decoding: out[0..<length], as: UTF8.self)
        }
        guard normal == value else {
            throw reader.error(node, "invalid '\(path)': requests are matched on their normalised path; write '\(normal)'")
        }
        return value
    }

    /// `{ Name: value, Other: true }`: exact values, or presence.
    static func fields(_ node: Node, _ path: String, what: String, reader: NodeReader) throws(ConfigError) -> [FieldMatchConfig] {
        let entries = try reader.namedEntries(node, path)
        guard !entries.entries.isEmpty else { throw reader.error(node, "invalid '\(path)': must not be empty") }
        var fields: [FieldMatchConfig] = []
        for entry in entries.entries {
            let name = try NameRules.httpToken(entry.keyNode, path, what: what, reader: reader)
            let valuePath = entries.child(entry.key)
            if case .scalar(let scalar) = entry.value, scalar.style == .plain, scalar.string == "true" {
                fields.append(FieldMatchConfig(name: name, value: nil))
                continue
            }
            let value = try reader.text(entry.value, valuePath, expected: "a value, or true for presence")
            guard value.unicodeScalars.allSatisfy({ $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F) }) else {
                throw reader.error(entry.value, "invalid '\(valuePath)': a value cannot hold line breaks or control characters")
            }
            fields.append(FieldMatchConfig(name: name, value: value))
        }
        return fields
    }

    /// `https://host[:port][/path]`, `http://…`, or a path from "/"; kept without a trailing "/"
    /// (the request's path, which starts with one, is appended).
    static func redirectTarget(_ node: Node, _ path: String, reader: NodeReader) throws(ConfigError) -> String {
        var value = try reader.string(node, path)
        let lower = value.lowercased()
        let scheme = lower.hasPrefix("https://") ? 8 : lower.hasPrefix("http://") ? 7 : 0
        guard scheme > 0 || value.hasPrefix("/") else {
            throw reader.error(node, "invalid '\(path)': expected an absolute URL (https://example.com) or a path from '/'")
        }
        if scheme == 0 && value.hasPrefix("//") {
            throw reader.error(node, "invalid '\(path)': '\(value)' is a reference to another host; write it as https://HOST/…")
        }
        if scheme > 0 && (value.count == scheme || value.dropFirst(scheme).hasPrefix("/")) {
            throw reader.error(node, "invalid '\(path)': '\(value)' names no host")
        }
        guard value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), !value.contains("?"), !value.contains("#"),
              scheme == 0 || value.count > scheme else {
            throw reader.error(node, "invalid '\(path)': '\(value)' is not a URL to redirect to (no query, fragment or spaces: the request's path and query are appended)")
        }
        while value.hasSuffix("/") && value.count > scheme + 1 { value.removeLast() }
        if value == "/" { value = "" }
        return value
    }

    private static func redirectStatus(_ section: MappingSection, reader: NodeReader) throws(ConfigError) -> Int? {
        guard let value = section.value("redirect_status") else { return nil }
        let status = try reader.int(value, section.child("redirect_status"), in: 300...399)
        guard redirectStatuses.contains(status) else {
            throw reader.error(value, "invalid '\(section.child("redirect_status"))': expected one of 301, 302, 303, 307 or 308")
        }
        return status
    }
}

/// Rewrites one route's split in the text of its config file, for `cutover switch`.
///
/// An operator's config file carries comments, blank lines and a layout that are theirs, so the
/// file is not re-serialised: exactly the scalars that change (the route's weights, its `ramp`)
/// are replaced where the parser saw them (`RouteConfig.weightSpans`, `rampSpan`), and a missing
/// `ramp:` is inserted as one entry. Every other byte stays. The result is parsed again and
/// compared with the old config before anyone writes it, so a layout this cannot edit safely
/// (an anchor shared by two routes, a file edited since it was read) is refused, never written.
/// Pure: text in, text out.
public enum SplitRewrite {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// A checked rewrite: the new text, the config it parses to, and the split before and after.
    public struct Result: Sendable {
        public var text: String
        public var config: CutoverConfig
        public var before: [(name: String, weight: Int)]
        public var after: [(name: String, weight: Int)]
    }

    /// The blue/green switch: `pool` gets 100, every other pool of `route` 0; with `ramp`
    /// (a duration such as `30s`), the route's `ramp` is set to it as well.
    public static func switchRoute(_ text: String, config: CutoverConfig, route name: String, to pool: String,
                                   ramp: String?) throws(Failure) -> Result {
        guard let route = config.route(named: name) else {
            throw Failure("\(config.file) has no route '\(name)' (routes: \(config.routes.map(\.name).joined(separator: ", ")))")
        }
        guard route.pools.contains(where: { $0.name == pool }) else {
            throw Failure("pool '\(pool)' is not in route '\(name)''s split (its pools: \(route.pools.map(\.name).joined(separator: ", ")))")
        }
        let weights = route.pools.map { $0.name == pool ? 100 : 0 }
        let newText = try rewrite(text, route: route, weights: weights, ramp: ramp)
        let newConfig = try verify(newText, old: config, route: name, weights: weights,
                                   ramp: ramp.flatMap(Duration.init(parsing:)))
        return Result(text: newText, config: newConfig, before: route.pools,
                      after: zip(route.pools, weights).map { ($0.0.name, $0.1) })
    }

    /// `text` with `route`'s weights replaced by `weights` (in `route.pools` order) and, when
    /// given, its `ramp` replaced or inserted. Fails when a recorded span no longer holds what
    /// the parser saw there: the text is not the one `route` was parsed from.
    public static func rewrite(_ text: String, route: RouteConfig, weights: [Int],
                               ramp: String?) throws(Failure) -> String {
        guard weights.count == route.pools.count, route.weightSpans.count == route.pools.count else {
            throw Failure("route '\(route.name)': \(weights.count) weights for \(route.pools.count) pools")
        }
        var source = SourceText(text)
        var edits: [(offset: Int, count: Int, text: String)] = []
        for (span, weight) in zip(route.weightSpans, weights) {
            edits.append(try replacement(span, with: String(weight), in: source))
        }
        if let ramp {
            guard Duration(parsing: ramp) != nil else { throw Failure("'\(ramp)' is not a duration like 30s or 2m") }
            if let span = route.rampSpan {
                edits.append(try replacement(span, with: ramp, in: source))
            } else if let place = route.rampInsertion {
                edits.append(try insertion(of: "ramp: \(ramp)", route: route.name, at: place, in: source))
            } else {
                throw Failure("route '\(route.name)' is not a mapping this can add 'ramp:' to; add it by hand")
            }
        }
        edits.sort { $0.offset > $1.offset }
        for (later, earlier) in zip(edits, edits.dropFirst()) where earlier.offset + earlier.count > later.offset {
            throw Failure("route '\(route.name)': two of its values are written at the same place (an alias?); edit it by hand")
        }
        for edit in edits { source.replace(edit.offset, edit.count, with: edit.text) }
        return source.text
    }

    /// Parses `newText` and checks it says what the rewrite meant: `route` has `weights` (and
    /// `ramp`), and nothing else of the config changed.
    public static func verify(_ newText: String, old: CutoverConfig, route name: String, weights: [Int],
                              ramp: Duration?) throws(Failure) -> CutoverConfig {
        let new: CutoverConfig
        do {
            new = try ConfigLoader.parse(yaml: newText, file: old.file)
        } catch {
            throw Failure("the rewritten file would not load, so it was not written: \(error)")
        }
        guard let was = old.route(named: name), let now = new.route(named: name) else {
            throw Failure("the rewritten file has no route '\(name)'")
        }
        let split = now.pools.map { "\($0.name) \($0.weight)" }.joined(separator: ", ")
        guard now.pools.map(\.name) == was.pools.map(\.name), now.pools.map(\.weight) == weights else {
            throw Failure("the rewrite of route '\(name)' came out as '\(split)', not the intended split; the file was not written")
        }
        guard now.ramp == (ramp ?? was.ramp), now.sticky == was.sticky, now.override == was.override,
              now.rollout == was.rollout else {
            throw Failure("the rewrite of route '\(name)' changed more than its split and ramp; the file was not written")
        }
        let others = describeChanges(from: old, to: new).filter { !$0.hasPrefix("route \(name):") }
        guard others.isEmpty else {
            throw Failure("the rewrite of route '\(name)' would also change: \(others.joined(separator: "; ")) (a shared anchor?); the file was not written")
        }
        return new
    }

    /// The edit that puts `value` where `span` is, in the same quoting.
    private static func replacement(_ span: ScalarSpan, with value: String,
                                    in source: SourceText) throws(Failure) -> (offset: Int, count: Int, text: String) {
        let written: String
        let wanted: String
        switch span.quoting {
        case .plain: (written, wanted) = (span.value, value)
        case .single: (written, wanted) = ("'\(span.value.replacing("'", with: "''"))'", "'\(value)'")
        case .double where !span.value.contains(where: { $0 == "\\" || $0 == "\"" || $0.isNewline }):
            (written, wanted) = ("\"\(span.value)\"", "\"\(value)\"")
        default:
            throw Failure("\(span.location): the value is written in a form this cannot edit in place; edit it by hand")
        }
        guard let offset = source.offset(line: span.location.line, column: span.location.column),
              source.hasPrefix(written, at: offset) else {
            let found = source.offset(line: span.location.line, column: span.location.column)
                .map { "'\(source.slice($0, written.unicodeScalars.count))'" } ?? "nothing"
            throw Failure("\(span.location): expected '\(written)' there, found \(found): the file changed since it was read")
        }
        return (offset, written.unicodeScalars.count, wanted)
    }

    /// The edit that adds `entry` (`ramp: 30s`) to a route mapping.
    private static func insertion(of entry: String, route: String, at place: RampInsertion,
                                  in source: SourceText) throws(Failure) -> (offset: Int, count: Int, text: String) {
        if let start = source.offset(line: place.mapping.line, column: place.mapping.column), source.hasPrefix("{", at: start) {
            return try beforeBrace(entry, mapping: place.mapping, in: source)
        }
        guard let key = place.poolsKey else {
            throw Failure("route '\(route)' takes its pools from a merge key; add 'ramp:' to it by hand")
        }
        return try afterEntry(entry, key: key, in: source)
    }

    /// A new line after the last line of the `pools` entry (its value may span lines; comments
    /// and blank lines after it stay with what follows), indented like `pools:`.
    private static func afterEntry(_ entry: String, key: SourceLocation,
                                   in source: SourceText) throws(Failure) -> (offset: Int, count: Int, text: String) {
        guard let offset = source.offset(line: key.line, column: key.column), source.hasPrefix("pools", at: offset) else {
            throw Failure("\(key): expected the key 'pools' there: the file changed since it was read")
        }
        let keyLine = key.line - 1
        let indent = key.column - 1
        guard source.indentation(ofLine: keyLine).spaces == indent else {
            throw Failure("\(key): 'pools' does not start its line; add 'ramp:' to the route by hand")
        }
        let last = source.lastLineOfBlock(firstLine: keyLine, from: offset, indent: indent)
        let lineBreak = source.lines[last].lineBreak.isEmpty ? (source.lines.first?.lineBreak ?? "\n") : source.lines[last].lineBreak
        let text = (lineBreak.isEmpty ? "\n" : lineBreak) + String(repeating: " ", count: indent) + entry
        return (source.lines[last].end, 0, text)
    }

    /// `, ramp: 30s` after the last value of a flow mapping, before its closing brace.
    private static func beforeBrace(_ entry: String, mapping: SourceLocation,
                                    in source: SourceText) throws(Failure) -> (offset: Int, count: Int, text: String) {
        guard let open = source.offset(line: mapping.line, column: mapping.column), source.hasPrefix("{", at: open) else {
            throw Failure("\(mapping): expected '{' there: the file changed since it was read")
        }
        var scanner = FlowScanner()
        var lastSignificant = open
        for index in open..<source.scalars.count {
            let significant = scanner.feed(source.scalars, index)
            if scanner.depth == 0 {
                let comma = source.scalars[lastSignificant] == ","
                return (lastSignificant + 1, 0, comma ? " \(entry)" : ", \(entry)")
            }
            if significant { lastSignificant = index }
        }
        throw Failure("\(mapping): the route's mapping has no closing brace")
    }
}

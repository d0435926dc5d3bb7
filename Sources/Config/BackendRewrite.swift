/// Edits one pool's `backends:` list in the text of its config file, for the commands that add,
/// remove, drain and re-weigh a backend.
///
/// Like `SplitRewrite`, the file is not re-serialised: a new entry is written after the pool's
/// last backend in the style of its siblings, a removed entry's lines (or, in a flow list, its
/// characters) are cut out, and a value is replaced where the parser saw it
/// (`BackendConfig.spans`) or added as one entry. Every other byte stays. The result is parsed
/// again and must differ from the old config by exactly the intended backend change, else
/// nothing is returned; a layout this cannot edit safely (anchors, aliases, tags, merge keys, a
/// file edited since it was read) is refused with a message that says to edit it by hand.
/// Pure: text in, text out.
///
/// Supported layouts: a block list (`- …` lines) of flow mappings (`- { address: A, weight: 2 }`)
/// or block mappings (`- address: A` / `  weight: 2`), mixed or not, and a flow list
/// (`backends: [{ address: A }, …]`, on one line or one entry per line).
public enum BackendRewrite {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// A checked edit: the new text, the config it parses to, and what changed in
    /// `describeChanges`' words ("pool blue: backend 127.0.0.1:9002 drain").
    public struct Result: Sendable {
        public var text: String
        public var config: CutoverConfig
        public var changes: [String]
    }

    /// Adds `address` after the pool's last backend, with `weight` when given (else the default,
    /// 1, is left unwritten) and `state: drain` when `state` is `.drain`.
    public static func add(_ text: String, config: CutoverConfig, pool name: String, address: HostPort,
                           weight: Int?, state: BackendAdminState = .active) throws(Failure) -> Result {
        let layout = try Layout(text, config: config, pool: name)
        if let twin = layout.pool.backends.first(where: { $0.address == address }) {
            throw Failure("\(twin.location): pool '\(name)' already has backend \(address)")
        }
        if let weight { try checkWeight(weight, file: config.file) }
        let edits = try layout.append(address: address, weight: weight, state: state)
        var expected = layout.pool.backends
        expected.append(BackendConfig(address: address, weight: weight ?? 1, location: layout.pool.location, state: state))
        return try verify(apply(edits, to: layout), old: config, pool: name, expected: expected)
    }

    /// Deletes `address`'s entry: in a block list its lines from the `-` through its last line
    /// (a comment on those lines goes with it, comment lines around it stay).
    public static func remove(_ text: String, config: CutoverConfig, pool name: String,
                              address: HostPort) throws(Failure) -> Result {
        let layout = try Layout(text, config: config, pool: name)
        let index = try layout.index(of: address)
        guard layout.items.count > 1 else {
            throw Failure("\(layout.items[index].backend.location): \(address) is the only backend of pool '\(name)', and a pool must keep at least one; add another first, or remove the pool by hand")
        }
        let edits = try layout.removal(of: index)
        var expected = layout.pool.backends
        expected.remove(at: index)
        return try verify(apply(edits, to: layout), old: config, pool: name, expected: expected)
    }

    /// Sets `state:`: replaces the value where it is written, adds `state: drain` to an entry
    /// that has none, and for `.active` deletes the `state:` entry (active is the default) where
    /// that can be done cleanly, else writes `active`.
    public static func setState(_ text: String, config: CutoverConfig, pool name: String, address: HostPort,
                                to state: BackendAdminState) throws(Failure) -> Result {
        let layout = try Layout(text, config: config, pool: name)
        let index = try layout.index(of: address)
        let item = layout.items[index]
        var edits: [Edit] = []
        if item.backend.state != state {
            if let span = item.spans.state, let key = item.spans.stateKey {
                if state == .active, let cut = try layout.entryRemoval(item, key: key, value: span) {
                    edits = [cut]
                } else {
                    edits = [try layout.replacement(span, with: state.rawValue)]
                }
            } else {
                edits = try layout.entryInsertion(item, entry: "state: \(state.rawValue)")
            }
        }
        var expected = layout.pool.backends
        expected[index].state = state
        return try verify(apply(edits, to: layout), old: config, pool: name, expected: expected)
    }

    /// Sets `weight:` (0...256): replaces the value where it is written, or adds `weight:` to the
    /// entry.
    public static func setWeight(_ text: String, config: CutoverConfig, pool name: String, address: HostPort,
                                 to weight: Int) throws(Failure) -> Result {
        try checkWeight(weight, file: config.file)
        let layout = try Layout(text, config: config, pool: name)
        let index = try layout.index(of: address)
        let item = layout.items[index]
        var edits: [Edit] = []
        if item.backend.weight != weight {
            if let span = item.spans.weight {
                edits = [try layout.replacement(span, with: String(weight))]
            } else {
                edits = try layout.entryInsertion(item, entry: "weight: \(weight)")
            }
        }
        var expected = layout.pool.backends
        expected[index].weight = weight
        return try verify(apply(edits, to: layout), old: config, pool: name, expected: expected)
    }

    /// Parses `newText` and checks it says what the edit meant: pool `name`'s backends are
    /// `expected` (address, weight and state, in order), and `describeChanges` from `old` lists
    /// that backend change and nothing else.
    static func verify(_ newText: String, old: CutoverConfig, pool name: String,
                       expected: [BackendConfig]) throws(Failure) -> Result {
        let new: CutoverConfig
        do {
            new = try ConfigLoader.parse(yaml: newText, file: old.file)
        } catch {
            throw Failure("\(old.file): the edited file would not load, so it was not written: \(error)")
        }
        guard let was = old.pool(named: name), let now = new.pool(named: name) else {
            throw Failure("\(old.file): the edited file has no pool '\(name)'; it was not written")
        }
        func describe(_ backends: [BackendConfig]) -> String {
            backends.map { "\($0.address) weight \($0.weight)\($0.state == .drain ? " drain" : "")" }.joined(separator: ", ")
        }
        guard describe(now.backends) == describe(expected) else {
            throw Failure("\(old.file): the edit of pool '\(name)' came out as '\(describe(now.backends))', not the intended '\(describe(expected))'; the file was not written")
        }
        guard now.balance == was.balance, now.healthCheck == was.healthCheck, now.passive == was.passive,
              now.slowStart == was.slowStart, now.deregistrationDelay == was.deregistrationDelay, now.tls == was.tls else {
            throw Failure("\(old.file): the edit of pool '\(name)' changed more than its backends; the file was not written")
        }
        let intended = ConfigDiff.backends(pool: name, was.backends, expected)
        let changes = describeChanges(from: old, to: new)
        guard changes == intended else {
            let others = changes.filter { !intended.contains($0) }
            throw Failure("\(old.file): the edit of pool '\(name)' would also change: \(others.joined(separator: "; ")) (a shared anchor, or a file changed since it was read?); the file was not written")
        }
        return Result(text: newText, config: new, changes: changes)
    }

    static func checkWeight(_ weight: Int, file: String) throws(Failure) {
        guard PoolSection.backendWeights.contains(weight) else {
            throw Failure("\(file): a backend weight must be between \(PoolSection.backendWeights.lowerBound) and \(PoolSection.backendWeights.upperBound), not \(weight)")
        }
    }

    typealias Edit = (offset: Int, count: Int, text: String)

    static func apply(_ edits: [Edit], to layout: Layout) throws(Failure) -> String {
        var source = layout.source
        let sorted = edits.sorted { $0.offset > $1.offset }
        for (later, earlier) in zip(sorted, sorted.dropFirst()) where earlier.offset + earlier.count > later.offset {
            throw Failure("\(layout.file): two edits of pool '\(layout.pool.name)''s backends list overlap; edit it by hand")
        }
        for edit in sorted { source.replace(edit.offset, edit.count, with: edit.text) }
        return source.text
    }
}

extension BackendRewrite {
    /// One backend entry as written.
    struct Item {
        var backend: BackendConfig
        var spans: BackendSpans
        /// Where the entry's mapping starts: its `{`, or its first key.
        var start: Int
        /// A flow mapping (`{ … }`), else a block mapping.
        var flow: Bool
        /// After the closing `}` of a flow mapping; nil for a block mapping.
        var end: Int?
        /// In a block list: the `-`, its indentation and the entry's first and last lines (line
        /// indices; the last line is the last one with the entry's content, not a comment after it).
        var dash: Int?
        var indent: Int
        var firstLine: Int
        var lastLine: Int
    }

    /// A pool's `backends:` list as written: checked against the config it was parsed into, and
    /// refused when it holds anything this cannot edit safely.
    struct Layout {
        let source: SourceText
        let file: String
        let pool: PoolConfig
        /// A flow list (`[ … ]`), else a block list.
        let flowList: Bool
        /// Where the list starts (its `[`, or its first `-`) and, for a flow list, its `]`.
        let open: Int
        let close: Int?
        let items: [Item]

        init(_ text: String, config: CutoverConfig, pool name: String) throws(Failure) {
            let source = SourceText(text)
            self.source = source
            file = config.file
            guard let pool = config.pool(named: name) else {
                let names = config.pools.map(\.name).joined(separator: ", ")
                throw Failure("\(config.file) has no pool '\(name)' (pools: \(names))")
            }
            self.pool = pool
            guard let list = pool.backendList else {
                throw Failure("\(pool.location): pool '\(name)' has no recorded backends list; edit it by hand")
            }
            guard let key = list.key else {
                throw Failure("\(pool.location): pool '\(name)' takes its backends from a merge key (<<), which other pools may share; edit it by hand")
            }
            guard let keyOffset = source.offset(line: key.line, column: key.column),
                  ["backends", "\"backends\"", "'backends'"].contains(where: { source.hasPrefix($0, at: keyOffset) }) else {
                throw Failure("\(key): expected the key 'backends' there: the file changed since it was read")
            }
            guard let open = source.offset(line: list.list.line, column: list.list.column), open < source.scalars.count else {
                throw Failure("\(list.list): the backends list is not there: the file changed since it was read")
            }
            let first = source.scalars[open]
            if first == "&" || first == "*" || first == "!" {
                throw Failure("\(list.list): pool '\(name)''s backends list has an anchor, alias or tag; edit it by hand")
            }
            guard first == "[" || first == "-" else {
                throw Failure("\(list.list): expected the backends list ('-' or '[') there, found '\(first)': the file changed since it was read")
            }
            self.open = open
            let flowList = first == "["
            self.flowList = flowList
            var close: Int?
            if flowList {
                close = Self.closing(of: open, in: source)
                guard close != nil else { throw Failure("\(list.list): the backends list has no closing ']'") }
            }
            self.close = close
            var items: [Item] = []
            for backend in pool.backends {
                items.append(try Self.item(backend, in: source, flowList: flowList, after: items.last?.start ?? open - 1))
            }
            self.items = items
            // Anchors, aliases and tags anywhere in the list: an edit next to one could change
            // what another place of the file means.
            let end = close.map { $0 + 1 } ?? source.lines[items.last?.lastLine ?? source.lineIndex(of: open)].end
            try Self.refuseAnchors(in: source, from: open, to: end, file: config.file)
            for item in items {
                try Self.check(item.spans.address, in: source)
                if let span = item.spans.weight { try Self.check(span, in: source) }
                if let span = item.spans.state { try Self.check(span, in: source) }
            }
        }

        func index(of address: HostPort) throws(Failure) -> Int {
            guard let index = items.firstIndex(where: { $0.backend.address == address }) else {
                let addresses = pool.backends.map(\.address.description).joined(separator: ", ")
                throw Failure("\(pool.location): pool '\(pool.name)' has no backend \(address) (its backends: \(addresses))")
            }
            return index
        }

        var lineBreak: String {
            source.lines.first { !$0.lineBreak.isEmpty }?.lineBreak ?? "\n"
        }

        // MARK: reading the list

        /// The offset of the `}` or `]` that closes the collection opened at `open`.
        static func closing(of open: Int, in source: SourceText) -> Int? {
            var scanner = FlowScanner()
            for index in open..<source.scalars.count {
                _ = scanner.feed(source.scalars, index)
                if scanner.depth == 0 { return index }
            }
            return nil
        }

        static func item(_ backend: BackendConfig, in source: SourceText, flowList: Bool,
                         after previous: Int) throws(Failure) -> Item {
            let at = backend.location
            guard let spans = backend.spans else {
                throw Failure("\(at): backend \(backend.address) has no recorded position; edit it by hand")
            }
            if spans.merges {
                throw Failure("\(at): backend \(backend.address) takes keys from a merge key (<<); edit it by hand")
            }
            guard let start = source.offset(line: at.line, column: at.column), start < source.scalars.count,
                  start > previous else {
                throw Failure("\(at): backend \(backend.address)'s entry is not there (an alias?); edit it by hand")
            }
            let first = source.scalars[start]
            if first == "&" || first == "*" || first == "!" {
                throw Failure("\(at): backend \(backend.address)'s entry has an anchor, alias or tag; edit it by hand")
            }
            let flow = first == "{"
            var end: Int?
            if flow {
                guard let close = closing(of: start, in: source) else {
                    throw Failure("\(at): backend \(backend.address)'s entry has no closing '}'")
                }
                end = close + 1
            } else if flowList {
                throw Failure("\(at): expected '{' there: the file changed since it was read")
            }
            let startLine = source.lineIndex(of: start)
            if flowList {
                return Item(backend: backend, spans: spans, start: start, flow: true, end: end, dash: nil,
                            indent: start - source.lines[startLine].start, firstLine: startLine,
                            lastLine: source.lineIndex(of: end! - 1))
            }
            // The `-` before the entry, on its line, with nothing but indentation before it.
            var dash = start - 1
            while dash >= source.lines[startLine].start, source.scalars[dash] == " " || source.scalars[dash] == "\t" { dash -= 1 }
            guard dash >= source.lines[startLine].start, source.scalars[dash] == "-" else {
                throw Failure("\(at): backend \(backend.address)'s '-' is not on the line of its first key; edit it by hand")
            }
            let indent = dash - source.lines[startLine].start
            guard source.indentation(ofLine: startLine).spaces == indent else {
                throw Failure("\(at): backend \(backend.address)'s '-' does not start its line; edit it by hand")
            }
            // The entry runs on while lines are indented deeper than its `-` (or inside a flow
            // collection); comment and blank lines after its last line are not its own.
            let last = source.lastLineOfBlock(firstLine: startLine, from: dash + 1, indent: indent)
            return Item(backend: backend, spans: spans, start: start, flow: flow, end: end, dash: dash,
                        indent: indent, firstLine: startLine, lastLine: last)
        }

        static func refuseAnchors(in source: SourceText, from start: Int, to end: Int, file: String) throws(Failure) {
            var scanner = FlowScanner()
            var previous: Unicode.Scalar?
            for index in start..<min(end, source.scalars.count) {
                let quoted = scanner.inQuote
                let significant = scanner.feed(source.scalars, index)
                let scalar = source.scalars[index]
                defer { previous = scalar }
                guard significant, !quoted, scalar == "&" || scalar == "*" || scalar == "!" else { continue }
                let startsToken = previous.map { " \t{[,:-?".unicodeScalars.contains($0) || SourceText.isBreak($0) } ?? true
                guard startsToken else { continue }
                let at = source.location(of: index, file: file)
                throw Failure("\(at): the backends list has an anchor, alias or tag; edit it by hand")
            }
        }

        /// How `span` is written, or nil when it is not in a form this edits.
        static func written(_ span: ScalarSpan) -> String? {
            switch span.quoting {
            case .plain where !span.value.contains(where: \.isNewline): return span.value
            case .single where !span.value.contains(where: \.isNewline): return "'\(span.value.replacing("'", with: "''"))'"
            case .double where !span.value.contains(where: { $0 == "\\" || $0 == "\"" || $0.isNewline }): return "\"\(span.value)\""
            default: return nil
            }
        }

        /// The offset of `span`, checked to still hold what the parser saw.
        @discardableResult
        static func check(_ span: ScalarSpan, in source: SourceText) throws(Failure) -> (offset: Int, written: String) {
            guard let written = written(span) else {
                throw Failure("\(span.location): the value is written in a form this cannot edit in place; edit it by hand")
            }
            guard let offset = source.offset(line: span.location.line, column: span.location.column),
                  source.hasPrefix(written, at: offset) else {
                let found = source.offset(line: span.location.line, column: span.location.column)
                    .map { "'\(source.slice($0, written.unicodeScalars.count))'" } ?? "nothing"
                throw Failure("\(span.location): expected '\(written)' there, found \(found): the file changed since it was read")
            }
            return (offset, written)
        }

        // MARK: edits

        /// `span` replaced by `value`, in the same quoting.
        func replacement(_ span: ScalarSpan, with value: String) throws(Failure) -> Edit {
            let (offset, written) = try Self.check(span, in: source)
            let wanted: String
            switch span.quoting {
            case .single: wanted = "'\(value)'"
            case .double: wanted = "\"\(value)\""
            default: wanted = value
            }
            return (offset, written.unicodeScalars.count, wanted)
        }

        /// `entry` (`state: drain`) added to an item's mapping: before the `}` of a flow mapping,
        /// or on a new line after a block mapping's last line, indented like its keys.
        func entryInsertion(_ item: Item, entry: String) throws(Failure) -> [Edit] {
            if item.flow, let end = item.end {
                var scanner = FlowScanner()
                var lastSignificant = item.start
                for index in item.start..<(end - 1) where scanner.feed(source.scalars, index) { lastSignificant = index }
                let comma = source.scalars[lastSignificant] == ","
                return [(lastSignificant + 1, 0, comma ? " \(entry)" : ", \(entry)")]
            }
            let keyIndent = item.start - source.lines[item.firstLine].start
            return [(source.lines[item.lastLine].end, 0, lineBreak(after: item.lastLine) + String(repeating: " ", count: keyIndent) + entry)]
        }

        /// The edit that deletes a `key: value` entry from an item's mapping, or nil when it
        /// cannot be cut out cleanly (a comment in the way, the entry on the `-` line).
        func entryRemoval(_ item: Item, key: SourceLocation, value: ScalarSpan) throws(Failure) -> Edit? {
            let (valueOffset, written) = try Self.check(value, in: source)
            guard let keyOffset = source.offset(line: key.line, column: key.column) else { return nil }
            let valueEnd = valueOffset + written.unicodeScalars.count
            let scalars = source.scalars
            func isSpace(_ i: Int) -> Bool { scalars[i] == " " || scalars[i] == "\t" }
            if item.flow {
                var back = keyOffset - 1
                while back > item.start, isSpace(back) { back -= 1 }
                if scalars[back] == "," {
                    back -= 1
                    while back > item.start, isSpace(back) { back -= 1 }
                    guard !SourceText.isBreak(scalars[back]) else { return nil }
                    // The text between the value and whatever follows must not hold a comment.
                    return (back + 1, valueEnd - back - 1, "")
                }
                guard scalars[back] == "{" else { return nil }
                var forward = valueEnd
                while forward < scalars.count, isSpace(forward) { forward += 1 }
                guard forward < scalars.count, scalars[forward] == "," else { return nil }
                forward += 1
                while forward < scalars.count, isSpace(forward) { forward += 1 }
                guard forward < scalars.count, !SourceText.isBreak(scalars[forward]), scalars[forward] != "#" else { return nil }
                return (keyOffset, forward - keyOffset, "")
            }
            let line = source.lineIndex(of: keyOffset)
            guard line != item.firstLine, source.lineIndex(of: valueOffset) == line,
                  source.indentation(ofLine: line).spaces == keyOffset - source.lines[line].start else { return nil }
            var rest = valueEnd
            while rest < source.lines[line].end, isSpace(rest) { rest += 1 }
            guard rest == source.lines[line].end || scalars[rest] == "#" else { return nil }
            return lineRemoval(line, line)
        }

        /// Deletes lines `first...last` with their breaks (on the file's last line, the break
        /// before them instead).
        func lineRemoval(_ first: Int, _ last: Int) -> Edit {
            if source.lines[last].lineBreak.isEmpty && first > 0 {
                let start = source.lines[first - 1].end
                return (start, source.lines[last].end - start, "")
            }
            let end = last + 1 < source.lines.count ? source.lines[last + 1].start : source.scalars.count
            return (source.lines[first].start, end - source.lines[first].start, "")
        }

        func lineBreak(after line: Int) -> String {
            let own = source.lines[line].lineBreak
            return own.isEmpty ? lineBreak : own
        }

        /// The deletion of item `index`.
        func removal(of index: Int) throws(Failure) -> [Edit] {
            let item = items[index]
            if !flowList { return [lineRemoval(item.firstLine, item.lastLine)] }
            let scalars = source.scalars
            guard let end = item.end else { return [] }
            // On lines of its own (nothing but indentation before it; after it an optional comma
            // and comment): those lines go, and the comma before it when it was the last entry.
            let before = source.indentation(ofLine: item.firstLine).spaces == item.start - source.lines[item.firstLine].start
            var after = end
            while after < source.lines[item.lastLine].end, scalars[after] == " " || scalars[after] == "\t" { after += 1 }
            let comma = after < scalars.count && scalars[after] == ","
            if comma { after += 1 }
            while after < source.lines[item.lastLine].end, scalars[after] == " " || scalars[after] == "\t" { after += 1 }
            let alone = before && (after == source.lines[item.lastLine].end || scalars[after] == "#")
            if alone, index == 0 || items[index - 1].lastLine < item.firstLine {
                var edits = [lineRemoval(item.firstLine, item.lastLine)]
                if !comma, index > 0, let previousEnd = items[index - 1].end {
                    var at = previousEnd
                    while at < scalars.count, scalars[at] == " " || scalars[at] == "\t" { at += 1 }
                    if at < scalars.count, scalars[at] == "," { edits.append((at, 1, "")) }
                }
                return edits
            }
            // Inside a line: the entry and the comma between it and its neighbour, when nothing
            // but white space and that comma is there.
            func cleanGap(_ from: Int, _ to: Int) -> Bool {
                var commas = 0
                for i in from..<to {
                    let s = scalars[i]
                    if s == "," { commas += 1 } else if !(s == " " || s == "\t" || SourceText.isBreak(s)) { return false }
                }
                return commas == 1
            }
            if index + 1 < items.count, cleanGap(end, items[index + 1].start) {
                return [(item.start, items[index + 1].start - item.start, "")]
            }
            if index > 0, let previousEnd = items[index - 1].end, cleanGap(previousEnd, item.start) {
                return [(previousEnd, end - previousEnd, "")]
            }
            throw Failure("\(item.backend.location): backend \(item.backend.address) shares its lines with comments or other text this cannot cut around; edit it by hand")
        }

        /// A new entry after the last one, in the style of that one.
        func append(address: HostPort, weight: Int?, state: BackendAdminState) throws(Failure) -> [Edit] {
            guard let last = items.last else { throw Failure("\(pool.location): pool '\(pool.name)' has no backend to write a new one like") }
            let quoted: String
            switch last.spans.address.quoting {
            case .single: quoted = "'\(address)'"
            case .plain where !address.isIPv6: quoted = address.description
            default: quoted = "\"\(address)\""
            }
            var entries = ["address: \(quoted)"]
            if let weight { entries.append("weight: \(weight)") }
            if state != .active { entries.append("state: \(state.rawValue)") }
            let scalars = source.scalars
            func flowEntry() -> String {
                let padded = last.start + 1 < scalars.count && scalars[last.start + 1] == " "
                return padded ? "{ \(entries.joined(separator: ", ")) }" : "{\(entries.joined(separator: ", "))}"
            }
            if flowList {
                guard let end = last.end else { return [] }
                let entry = flowEntry()
                var after = end
                while after < scalars.count, scalars[after] == " " || scalars[after] == "\t" { after += 1 }
                let comma = after < scalars.count && scalars[after] == ","
                let commaEnd = comma ? after + 1 : end
                var rest = commaEnd
                while rest < source.lines[last.lastLine].end, scalars[rest] == " " || scalars[rest] == "\t" { rest += 1 }
                let ownLine = source.indentation(ofLine: last.firstLine).spaces == last.start - source.lines[last.firstLine].start
                    && last.firstLine > source.lineIndex(of: open)
                    && (rest == source.lines[last.lastLine].end || scalars[rest] == "#")
                if ownLine {
                    // One entry per line: a new line indented like the last entry.
                    let lineEnd = source.lines[last.lastLine].end
                    let newLine = lineBreak(after: last.lastLine) + String(repeating: " ", count: last.indent) + entry
                    if comma { return [(lineEnd, 0, newLine + ",")] }
                    if lineEnd == end { return [(end, 0, "," + newLine)] }
                    return [(lineEnd, 0, newLine), (end, 0, ",")]
                }
                return comma ? [(commaEnd, 0, " \(entry),")] : [(end, 0, ", \(entry)")]
            }
            guard let dash = last.dash else { return [] }
            let gap = String(repeating: " ", count: max(1, last.start - dash - 1))
            let indent = String(repeating: " ", count: last.indent)
            let newBreak = lineBreak(after: last.lastLine)
            var text = newBreak + indent + "-" + gap
            if last.flow {
                text += flowEntry()
            } else {
                let keyIndent = String(repeating: " ", count: last.start - source.lines[last.firstLine].start)
                text += entries.joined(separator: newBreak + keyIndent)
            }
            return [(source.lines[last.lastLine].end, 0, text)]
        }
    }
}

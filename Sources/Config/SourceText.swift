/// A config file's text as Unicode scalars with its lines indexed, so a `SourceLocation` from
/// Yams (1-based line, column counted in Unicode scalars) becomes an offset that can be edited.
///
/// Line breaks are the ones libyaml counts: LF, CR LF, a lone CR, NEL, LS and PS. A byte order
/// mark at the start is skipped by libyaml without advancing the column, and so here.
struct SourceText {
    private(set) var scalars: [Unicode.Scalar]
    /// Per line (index 0 = line 1): where it starts, where its content ends (its break, or the
    /// end of the text) and the break itself ("" on a last line without one).
    private(set) var lines: [(start: Int, end: Int, lineBreak: String)] = []

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
        var start = scalars.first == "\u{FEFF}" ? 1 : 0
        var index = start
        while index < scalars.count {
            let scalar = scalars[index]
            guard Self.isBreak(scalar) else { index += 1; continue }
            let crlf = scalar == "\r" && index + 1 < scalars.count && scalars[index + 1] == "\n"
            let length = crlf ? 2 : 1
            lines.append((start, index, String(String.UnicodeScalarView(scalars[index..<index + length]))))
            index += length
            start = index
        }
        lines.append((start, scalars.count, ""))
    }

    var text: String { String(String.UnicodeScalarView(scalars)) }

    static func isBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}": return true
        default: return false
        }
    }

    /// The offset of `line`:`column`, or nil when the text has no such position.
    func offset(line: Int, column: Int) -> Int? {
        guard line >= 1, line <= lines.count, column >= 1 else { return nil }
        let offset = lines[line - 1].start + column - 1
        return offset <= lines[line - 1].end ? offset : nil
    }

    /// The line (0-based index into `lines`) holding `offset`.
    func lineIndex(of offset: Int) -> Int {
        lines.lastIndex { $0.start <= offset } ?? 0
    }

    func hasPrefix(_ prefix: String, at offset: Int) -> Bool {
        let wanted = Array(prefix.unicodeScalars)
        guard offset + wanted.count <= scalars.count else { return false }
        return Array(scalars[offset..<offset + wanted.count]) == wanted
    }

    func slice(_ offset: Int, _ count: Int) -> String {
        let end = min(scalars.count, offset + count)
        return String(String.UnicodeScalarView(scalars[min(offset, end)..<end]))
    }

    /// Leading spaces of line `index`, and whether the line is blank or only a comment.
    func indentation(ofLine index: Int) -> (spaces: Int, isBlankOrComment: Bool) {
        let line = lines[index]
        var offset = line.start
        while offset < line.end, scalars[offset] == " " || scalars[offset] == "\t" { offset += 1 }
        return (offset - line.start, offset == line.end || scalars[offset] == "#")
    }

    /// Replaces scalars `offset..<offset + count` with `replacement` (line index is not updated:
    /// apply edits from the end of the text towards its start).
    mutating func replace(_ offset: Int, _ count: Int, with replacement: String) {
        scalars.replaceSubrange(offset..<offset + count, with: Array(replacement.unicodeScalars))
    }
}

/// Follows YAML flow collections (`{…}`, `[…]`) through text, one scalar at a time: the nesting
/// depth, quoted scalars (where brackets and `#` mean nothing) and comments. Enough to find
/// where a flow mapping closes and where a block entry ends; `SplitRewrite` re-parses whatever
/// it edits, so a layout this does not follow is refused, never written.
struct FlowScanner {
    private(set) var depth = 0
    private var quote: Unicode.Scalar?
    /// Inside a quoted scalar (after its opening quote, before its closing one).
    var inQuote: Bool { quote != nil }
    private var inComment = false
    private var skipNext = false
    private var previous: Unicode.Scalar?

    /// Feeds the scalar at `index` of `scalars`; true when it is significant: outside comments
    /// and not white space.
    mutating func feed(_ scalars: [Unicode.Scalar], _ index: Int) -> Bool {
        let scalar = scalars[index]
        let next = index + 1 < scalars.count ? scalars[index + 1] : nil
        defer { previous = scalar }
        if skipNext { skipNext = false; return true }
        if SourceText.isBreak(scalar) { inComment = false; return false }
        if inComment { return false }
        if let open = quote {
            if open == "\"" && scalar == "\\" { skipNext = true }
            else if open == "'" && scalar == "'" && next == "'" { skipNext = true }
            else if scalar == open { quote = nil }
            return true
        }
        if scalar == " " || scalar == "\t" { return false }
        let startsToken = previous.map { " \t{[,:".unicodeScalars.contains($0) || SourceText.isBreak($0) } ?? true
        switch scalar {
        case "#" where startsToken: inComment = true; return false
        case "'" where startsToken, "\"" where startsToken: quote = scalar
        case "{" where startsToken || depth > 0, "[" where startsToken || depth > 0: depth += 1
        case "}" where depth > 0, "]" where depth > 0: depth -= 1
        default: break
        }
        return true
    }
}

extension SourceText {
    /// The 1-based line and column of a scalar offset, for messages.
    func location(of offset: Int, file: String) -> SourceLocation {
        let line = lineIndex(of: offset)
        return SourceLocation(file: file, line: line + 1, column: offset - lines[line].start + 1)
    }

    /// The last line of the block node that starts on `firstLine` at scalar `from` (its key or
    /// its `-`): the node runs on while lines are indented deeper than `indent`, or are inside a
    /// flow collection it opened; blank and comment lines after its last line are not its own.
    func lastLineOfBlock(firstLine: Int, from: Int, indent: Int) -> Int {
        var scanner = FlowScanner()
        var last = firstLine
        var line = firstLine
        while true {
            if line > firstLine {
                let shape = indentation(ofLine: line)
                if scanner.depth == 0 {
                    if shape.isBlankOrComment {
                        line += 1
                        if line >= lines.count { break }
                        continue
                    }
                    if shape.spaces <= indent { break }
                }
                last = line
            }
            // The line's break too: it ends a comment.
            let next = line + 1 < lines.count ? lines[line + 1].start : scalars.count
            for index in (line == firstLine ? from : lines[line].start)..<next { _ = scanner.feed(scalars, index) }
            line += 1
            if line >= lines.count { break }
        }
        return last
    }
}

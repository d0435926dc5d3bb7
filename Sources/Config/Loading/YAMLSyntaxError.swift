import Yams

/// Maps Yams' errors (scanner, parser, composer, reader) to `ConfigError`, keeping libyaml's
/// position and problem text but dropping its multi-line snippet: the message must fit the single
/// `FILE:LINE:COLUMN: message` line that `cutover check` and the reload log print.
enum YAMLSyntaxError {
    static func convert(_ error: any Error, yaml: String, file: String) -> ConfigError {
        guard let yamlError = error as? YamlError else {
            return ConfigError(SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if problem == "but found another document" {
                message = "invalid YAML: a second document ('---') starts here; the file must hold exactly one"
            } else if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            if scalar(atLine: mark.line, column: mark.column, in: yaml) == "\t" {
                message += "; YAML indentation must use spaces, not tabs"
            }
            return ConfigError(SourceLocation(file: file, line: mark.line, column: mark.column), message)
        case .reader(let problem, let offset, _, _):
            let (line, column) = offset.map { position(ofCharacter: $0, in: yaml) } ?? (1, 1)
            return ConfigError(SourceLocation(file: file, line: line, column: column), "invalid YAML: \(problem)")
        default:
            return ConfigError(SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(yamlError)")
        }
    }

    /// The Unicode scalar at a 1-based line and column, if there is one.
    static func scalar(atLine line: Int, column: Int, in text: String) -> Unicode.Scalar? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count, column >= 1 else { return nil }
        let scalars = Array(lines[line - 1].unicodeScalars)
        return column <= scalars.count ? scalars[column - 1] : nil
    }

    /// 1-based line and column (in Unicode scalars, like libyaml's marks) of a Character offset.
    static func position(ofCharacter offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for (index, character) in text.prefix(offset).enumerated() {
            if index == 0 && character == "\u{FEFF}" { continue }  // libyaml skips a byte-order mark
            if character.unicodeScalars.contains(where: SourceText.isBreak) {  // LF, CR LF, CR, NEL, LS, PS
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return (line, column)
    }
}

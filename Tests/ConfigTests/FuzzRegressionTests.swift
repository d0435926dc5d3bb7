import Config
import Testing

/// Inputs found by the config-loader fuzz target (Fuzz/Targets/FuzzConfigLoader.swift), kept so
/// the bugs they showed stay fixed. Each names what the fuzzer reported.
@Suite struct ConfigFuzzRegressionTests {
    private func location(_ yaml: String) -> (line: Int, column: Int)? {
        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: "fuzz.yaml")
            Issue.record("accepted")
            return nil
        } catch {
            #expect(error.description.hasPrefix("fuzz.yaml:\(error.location.line):\(error.location.column): "))
            return (error.location.line, error.location.column)
        }
    }

    /// A reader error (a control character) after lines broken by a lone CR: libyaml and
    /// `SourceText` count CR, NEL, LS and PS as line breaks, and every other error's location is
    /// libyaml's, but `YAMLSyntaxError.position(ofCharacter:)` counted LF only, so the error was
    /// reported at line 1, column 10 of a text whose line 1 is 4 scalars long.
    /// Fuzzer input: a conf/cutover.yaml mutation with `\r` x 38, `\t`, NULs in one line.
    @Test(arguments: ["\r", "\r\n", "\n", "\u{85}", "\u{2028}", "\u{2029}"])
    func readerErrorLineCountsEveryBreak(_ lineBreak: String) {
        let yaml = "a: 1" + lineBreak + "b: 2" + lineBreak + "c: \u{01}" + lineBreak
        guard let where_ = location(yaml) else { return }
        #expect(where_.line == 3 && where_.column == 4, "at \(where_.line):\(where_.column)")
    }

    /// The same with a byte order mark first: libyaml skips it without advancing the column.
    @Test func readerErrorAfterByteOrderMark() {
        guard let where_ = location("\u{FEFF}a: \u{01}\n") else { return }
        #expect(where_.line == 1 && where_.column == 4, "at \(where_.line):\(where_.column)")
    }
}

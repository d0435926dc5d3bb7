import Yams

/// Turns `cutover.yaml` into a validated `CutoverConfig`, or into one `ConfigError` that names the
/// file, line and column of the first problem found.
///
/// Called from the control plane (reload) and the command line (`check`, `switch`); never from the
/// data plane. Stateless and thread-safe.
public enum ConfigLoader {
    /// Reads and parses `file`. An unreadable file is reported at line 1, column 1 with the OS reason.
    public static func load(file: String) throws(ConfigError) -> CutoverConfig {
        let text = try FileReading.readUTF8(path: file)
        return try parse(yaml: text, file: file)
    }

    /// Parses YAML text; `file` is only used to name locations in errors and in the result.
    public static func parse(yaml: String, file: String) throws(ConfigError) -> CutoverConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw YAMLSyntaxError.convert(error, yaml: yaml, file: file)
        }
        let reader = NodeReader(file: file)
        guard let root, !NodeReader.isNull(root) else {
            throw ConfigError(SourceLocation(file: file, line: 1, column: 1),
                              "the configuration is empty; it needs at least 'listeners', 'routes' and 'pools'")
        }
        return try RootSection.parse(root, reader: reader)
    }
}

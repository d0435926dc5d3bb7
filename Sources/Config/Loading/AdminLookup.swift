import Yams

extension ConfigLoader {
    /// Only the `admin` section of `file`, validated on its own: the address and token that
    /// `cutover reload` and `cutover status` need to reach the running proxy.
    ///
    /// Why not `load(file:)`: the usual reason to run `cutover reload` is that the file was just
    /// edited — and when that edit is invalid, the command must still reach the proxy to hear it
    /// rejected (and exit 1), rather than stop at the file. So the rest of the file may be wrong;
    /// only YAML syntax and the admin section itself must be sound. nil: no admin section.
    public static func adminSection(file: String) throws(ConfigError) -> AdminConfig? {
        let text = try FileReading.readUTF8(path: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw YAMLSyntaxError.convert(error, yaml: text, file: file)
        }
        guard let root, case .mapping(let mapping) = root else { return nil }
        guard let node = mapping.first(where: { $0.key.string == "admin" })?.value else { return nil }
        return try AdminSection.parse(node, path: "admin", reader: NodeReader(file: file)).config
    }
}

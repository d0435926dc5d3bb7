import Config
import Fleet
import Foundation
import Logging

/// `STATE_DIR/fleet.json`: the fleet document last applied, with the `active` revision it came
/// with, so an instance restarted while etcd is away starts from it (and its watch resumes right
/// after that revision when etcd is back).
struct FleetCache {
    struct Contents: Codable {
        var prefix: String
        var revision: Int64
        var document: FleetDocument
    }

    let path: String

    init(directory: String) {
        path = (directory.hasSuffix("/") ? directory : directory + "/") + "fleet.json"
    }

    /// The cached document for `prefix`; nil when absent, unreadable (reported) or another fleet's.
    func load(prefix: String) -> Contents? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let contents = try JSONDecoder().decode(Contents.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            guard contents.prefix == prefix else {
                log.warning("fleet: \(path) is for \(contents.prefix), not \(prefix); not used")
                return nil
            }
            return contents
        } catch {
            log.error("fleet: cannot read \(path): \(error); starting from the file alone")
            return nil
        }
    }

    func save(_ contents: Contents) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(contents)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            log.error("fleet: cannot write \(path): \(error) (a restart without etcd would start from the file alone)")
        }
    }
}

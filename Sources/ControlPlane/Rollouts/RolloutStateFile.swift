import Admin
import Foundation
import Rollout

/// `STATE_DIR/rollouts.json`: the rollouts in progress, rewritten (atomically, by rename) at every
/// change and every look, so a restarted proxy resumes each at the step it was in.
struct RolloutStateFile {
    struct Contents: Codable {
        var version = 2
        var rollouts: [Saved]
    }

    /// One running rollout: the machine's state, and what people see of its past.
    struct Saved: Codable {
        var machine: RolloutMachine.Persisted
        var startedAt: Date
        var history: [RolloutDocument.HistoryEntry]
    }

    let path: String

    init(directory: String) {
        path = (directory.hasSuffix("/") ? directory : directory + "/") + "rollouts.json"
    }

    /// The saved rollouts; none when the file is absent. A file that cannot be read or decoded is
    /// reported (and not overwritten until the next change).
    func load() -> Result<[Saved], StateFileError> {
        guard FileManager.default.fileExists(atPath: path) else { return .success([]) }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return .success(try JSONDecoder().decode(Contents.self, from: data).rollouts)
        } catch {
            return .failure(StateFileError(description: "cannot read the rollout state file \(path): \(error)"))
        }
    }

    func save(_ rollouts: [Saved]) -> StateFileError? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        do {
            let data = try encoder.encode(Contents(rollouts: rollouts))
            let directory = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            return nil
        } catch {
            return StateFileError(description: "cannot write the rollout state file \(path): \(error)")
        }
    }

    struct StateFileError: Error, CustomStringConvertible {
        var description: String
    }
}

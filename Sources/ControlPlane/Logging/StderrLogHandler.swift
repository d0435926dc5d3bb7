import Foundation
import Logging

/// One readable line per event on stderr:
/// `2026-05-01T10:00:00.123Z info reloaded conf/cutover.yaml: generation 2 changes=3`.
/// Metadata follows the message as `key=value`, sorted by key (values with spaces quoted). A
/// message never spans lines: line breaks in it are written as `\n`. Each line goes out in one
/// write(2), so lines from different threads never interleave.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(label: String, level: Logger.Level) {
        self.label = label
        logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let line = StderrLogHandler.format(date: Date(), level: event.level, message: "\(event.message)", metadata: merged)
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(2, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }

    static func format(date: Date, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        line += " \(level.rawValue) "
        line += message.replacingOccurrences(of: "\n", with: "\\n")
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            let text = "\(value)".replacingOccurrences(of: "\n", with: "\\n")
            let needsQuotes = text.isEmpty || text.contains(" ") || text.contains("\"")
            line += " \(key)=" + (needsQuotes ? "\"\(text.replacingOccurrences(of: "\"", with: "\\\""))\"" : text)
        }
        return line + "\n"
    }
}

import Glibc

/// Reads certificate, key and CA files for the TLS contexts, with the system's reason when a file
/// cannot be read ("No such file or directory", "Permission denied"). Relative paths are taken
/// from the working directory, as `-c FILE` is.
enum TLSFiles {
    /// PEM files are small; anything past this is not one.
    static let maximumBytes = 4 << 20

    static func read(_ path: String) -> Result<[UInt8], ReadFailure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(ReadFailure(reason: reason(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ReadFailure(reason: reason(errno)))
            }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maximumBytes { return .failure(ReadFailure(reason: "larger than 4 MiB: not a PEM file")) }
        }
        return .success(bytes)
    }

    struct ReadFailure: Error {
        var reason: String
    }

    private static func reason(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "error \(code)" }
        return String(cString: message)
    }
}

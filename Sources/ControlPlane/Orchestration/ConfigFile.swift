import Foundation
import CoreFoundation

/// A config file written the way an operator's editor would want it: all at once or not at all.
///
/// The bytes go to a temporary file next to the target, which then replaces it by rename(2), so
/// a proxy reloading at that moment reads the old file or the new one, never half of each. The
/// file keeps its mode and (where allowed) its owner; a symlink is followed, so the link stays a
/// link and its target is what changes.
public enum ConfigFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The file's bytes, or the OS reason it cannot be read.
    public static func read(_ path: String) throws(WriteError) -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw WriteError(description: "cannot read \(path): \(error.localizedDescription)")
        }
    }

    public static func replace(_ path: String, with bytes: [UInt8]) throws(WriteError) {
        guard let resolved = realpath(path, nil) else { throw failure("resolve", path) }
        let target = String(cString: resolved)
        free(resolved)
        var info = stat()
        guard stat(target, &info) == 0 else { throw failure("stat", target) }
        let directory = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        let temporary = "\(directory)/.\(name).cutover-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create", temporary) }
        var written = 0
        var ok = true
        while ok && written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { ok = false } else { written += n }
        }
        if ok { ok = fchmod(fd, info.st_mode & 0o7777) == 0 }
        _ = fchown(fd, info.st_uid, info.st_gid)  // keeping the owner needs privileges; best effort
        if ok { ok = fsync(fd) == 0 }
        let error = failure("write", temporary)
        close(fd)
        guard ok, rename(temporary, target) == 0 else {
            let reason = ok ? failure("rename over", target) : error
            unlink(temporary)
            throw reason
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)  // the rename itself survives a crash
            close(directoryFD)
        }
    }

    private static func failure(_ what: String, _ path: String) -> WriteError {
        WriteError(description: "cannot \(what) \(path): \(String(cString: strerror(errno)))")
    }
}

import Foundation

/// An exclusive advisory lock (`flock`) on `PATH.lock`, held across processes for a
/// read-merge-write of `PATH`. The lock file stays in place (removing it would let two processes
/// lock two different files).
public enum FileLock {
    /// Runs `body` while holding the lock for `path`, waiting for other holders. The lock is
    /// released when `body` returns or throws, and by the kernel if the process dies.
    public static func withExclusiveLock<T>(for path: String, _ body: () throws -> T) throws -> T {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DurableFileError.system("open", path: lockPath) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw DurableFileError.system("flock", path: lockPath) }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}

extension DurableFile {
    /// Read, merge, write under the file's lock: `merge` receives the current content (nil when
    /// the file does not exist) and returns the content to write. Two processes updating one
    /// file at once each see the other's completed update, so neither loses it.
    /// Creates the folder when it is missing. Returns what was written.
    @discardableResult
    public static func update(_ path: String, merge: (Data?) throws -> Data) throws -> Data {
        let folder = folderPath(of: path)
        if !FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        return try FileLock.withExclusiveLock(for: path) {
            let merged = try merge(FileManager.default.contents(atPath: path))
            try write(merged, to: path)
            return merged
        }
    }
}

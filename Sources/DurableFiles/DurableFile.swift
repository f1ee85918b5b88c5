import Foundation

/// Writes files so that a reader sees either the old content or the new, never a part, and so
/// that the new content survives a crash once the call returns.
///
/// A write goes to `.NAME.<pid>-<n>.tmp` beside the target (n counts this process's writes, so
/// threads writing one file at once never share a temporary), is flushed with `fsync`, renamed over
/// the target, and the folder is flushed so the rename itself is durable. Temporary files left by a
/// killed writer (their process no longer exists) are removed by the next write of the same file.
public enum DurableFile {
    /// Writes `data` to `path` atomically and durably.
    public static func write(_ data: Data, to path: String) throws {
        try checkWritable(path)
        removeStaleTemporaries(of: path)
        let temporary = temporaryPath(for: path, pid: getpid(), write: nextWriteNumber())
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DurableFileError.system("open", path: temporary) }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do {
            try data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw DurableFileError.system("write", path: temporary)
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw DurableFileError.system("fsync", path: temporary) }
            closed = true
            guard close(fd) == 0 else { throw DurableFileError.system("close", path: temporary) }
            guard rename(temporary, path) == 0 else { throw DurableFileError.system("rename", path: path) }
        } catch {
            unlink(temporary)
            throw error
        }
        syncFolder(of: path)
    }

    /// Writes `text` as UTF-8 to `path` atomically and durably.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Throws unless `path` can be written: its folder exists and is a writable folder, and `path`
    /// itself is not a folder. Call it before long work whose result goes to `path`, so a bad path
    /// fails in a second rather than after the work. Creates nothing.
    public static func checkWritable(_ path: String) throws {
        guard !path.isEmpty else { throw DurableFileError(path: path, reason: "the path is empty") }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw DurableFileError(path: path, reason: "it is a folder; give a file name")
        }
        let folder = folderPath(of: path)
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
            throw DurableFileError(path: path, reason: "the folder \(folder) does not exist")
        }
        guard isFolder.boolValue else {
            throw DurableFileError(path: path, reason: "\(folder) is not a folder")
        }
        guard access(folder, W_OK | X_OK) == 0 else {
            throw DurableFileError(path: path, reason: "the folder \(folder) is not writable (\(String(cString: strerror(errno))))")
        }
        if FileManager.default.fileExists(atPath: path), access(path, W_OK) != 0, access(folder, W_OK) != 0 {
            throw DurableFileError(path: path, reason: "the file is not writable")
        }
    }

    /// Removes `.NAME.<pid>.tmp` and `.NAME.<pid>-<n>.tmp` files beside `path` whose writing
    /// process no longer runs. Returns the removed paths.
    @discardableResult
    public static func removeStaleTemporaries(of path: String) -> [String] {
        let folder = folderPath(of: path)
        let name = (path as NSString).lastPathComponent
        let prefix = ".\(name)."
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for entry in entries where entry.hasPrefix(prefix) && entry.hasSuffix(".tmp") {
            let middle = entry.dropFirst(prefix.count).dropLast(".tmp".count)
            guard let pid = Int32(middle.prefix { $0 != "-" }), pid > 0 else { continue }
            let alive = pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
            if !alive {
                let full = (folder as NSString).appendingPathComponent(entry)
                if unlink(full) == 0 { removed.append(full) }
            }
        }
        return removed
    }

    /// The temporary file that write number `write` of the process `pid` fills before renaming it
    /// to `path` (without a number: the name a writer of one file at a time would use).
    public static func temporaryPath(for path: String, pid: Int32, write: Int? = nil) -> String {
        let folder = folderPath(of: path)
        let owner = write.map { "\(pid)-\($0)" } ?? "\(pid)"
        return (folder as NSString).appendingPathComponent(".\((path as NSString).lastPathComponent).\(owner).tmp")
    }

    private static let writeCounterLock = NSLock()
    nonisolated(unsafe) private static var writeCounter = 0

    private static func nextWriteNumber() -> Int {
        writeCounterLock.lock()
        defer { writeCounterLock.unlock() }
        writeCounter += 1
        return writeCounter
    }

    static func folderPath(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    /// Flushes the folder entry of `path` (the rename); best effort, as some file systems refuse it.
    private static func syncFolder(of path: String) {
        let fd = open(folderPath(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

import Foundation

/// Reading the text of data files, with errors that say what is wrong with the path.
enum DataFile {
    /// The UTF-8 text of `path`, with Windows line ends (`\r\n`) read as `\n`.
    static func text(_ path: String) throws -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw DataError.unreadable(path: path, reason: "no such file")
        }
        guard !isFolder.boolValue else { throw DataError.unreadable(path: path, reason: "it is a folder, not a text file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = access(path, R_OK) != 0 ? String(cString: strerror(errno)).lowercased() : "the read failed"
            throw DataError.unreadable(path: path, reason: reason)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.unreadable(path: path, reason: "not valid UTF-8")
        }
        return text.contains("\r\n") ? text.replacingOccurrences(of: "\r\n", with: "\n") : text
    }

    /// Whether `path` is an existing folder.
    static func isFolder(_ path: String) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
    }

    /// The path of `split` (`train`, `val` or `test`) in the names folder `folder`; a `folder` that
    /// is a file is an error saying what the names data looks like.
    static func namesSplit(_ folder: String, _ split: String) throws -> String {
        if FileManager.default.fileExists(atPath: folder), !isFolder(folder) {
            throw DataError.namesFolderExpected(path: folder)
        }
        return (folder as NSString).appendingPathComponent("\(split).txt")
    }
}

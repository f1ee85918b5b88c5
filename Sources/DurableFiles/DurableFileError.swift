import Foundation

/// Why a file could not be written, with the path and what to do, in words a user can act on.
public struct DurableFileError: Error, CustomStringConvertible, Sendable {
    /// The file that was to be written.
    public let path: String
    /// What is wrong, e.g. "the folder /x does not exist".
    public let reason: String

    /// Creates an error for `path`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot write \(path): \(reason)" }

    /// The error for a failed system call on `path`, from `errno`.
    static func system(_ call: String, path: String, errno code: Int32 = errno) -> DurableFileError {
        DurableFileError(path: path, reason: "\(call) failed: \(String(cString: strerror(code)))")
    }
}

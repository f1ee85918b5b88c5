import Foundation

/// A problem found while a command runs, printed as one `error:` line (no usage text) with the exit
/// code the README documents for its kind.
struct CommandError: Error, CustomStringConvertible {
    enum Kind {
        /// A data, checkpoint or output file that cannot be used: unreadable, corrupt, of another
        /// model, not matching the checkpoint, or not writable. Exit 2.
        case badFile
        /// Flags that cannot work together or with the given files. Exit 64, as ArgumentParser's
        /// own validation.
        case badArguments
        /// Training or evaluation produced NaN or ±Inf. Exit 3.
        case nonFinite
    }

    let kind: Kind
    let message: String

    var description: String { message }

    var exitCode: Int32 {
        switch kind {
        case .badFile: return 2
        case .badArguments: return 64
        case .nonFinite: return 3
        }
    }

    static func badFile(_ message: String) -> CommandError { CommandError(kind: .badFile, message: message) }
    static func badArguments(_ message: String) -> CommandError { CommandError(kind: .badArguments, message: message) }
    static func nonFinite(_ message: String) -> CommandError { CommandError(kind: .nonFinite, message: message) }
}

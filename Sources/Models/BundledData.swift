import Foundation

/// The data sets that ship with CLGraph (`Sources/Models/Data`, a resource of this target; its
/// README says where each comes from and its licence): the names splits and Tiny Shakespeare.
///
/// SwiftPM copies them into `CLGraph_Models.resources` beside the built executables, which is where
/// an installed `clmodel` finds them (install that folder beside the binary). The lookup is the
/// same as `Bundle.module`'s first place, done here so that a missing bundle is an error naming
/// the places searched rather than the `fatalError` of the generated accessor; the source tree's
/// copy is the second place (a build whose folder was moved).
public enum BundledData {
    /// The name of the resource bundle SwiftPM builds for this target.
    static let bundleName = "CLGraph_Models.resources"

    /// The folder holding `names/` and `tinyshakespeare/`.
    public static func folder() throws -> String {
        let candidates = searchedFolders()
        for candidate in candidates {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate + "/names/train.txt"),
               FileManager.default.fileExists(atPath: candidate, isDirectory: &isFolder), isFolder.boolValue {
                return candidate
            }
        }
        throw DataError.unreadable(path: bundleName,
                                   reason: "the bundled data is not installed (looked in \(candidates.joined(separator: ", "))); "
                                       + "copy \(bundleName) beside the executable or pass --data")
    }

    /// The names folder (`train.txt`, `val.txt`, `test.txt`).
    public static func namesFolder() throws -> String { try folder() + "/names" }

    /// Tiny Shakespeare's `input.txt`.
    public static func tinyShakespeare() throws -> String { try folder() + "/tinyshakespeare/input.txt" }

    /// Where the data is looked for, in order: the resource bundle beside the executable (the
    /// symbolic link's folder, then the resolved file's), then this source tree's `Data` folder.
    static func searchedFolders() -> [String] {
        var folders: [String] = []
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        for url in [executable, executable.resolvingSymlinksInPath()] {
            let folder = url.deletingLastPathComponent().appendingPathComponent(bundleName).appendingPathComponent("Data").path
            if !folders.contains(folder) { folders.append(folder) }
        }
        folders.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Data").path)
        return folders
    }
}

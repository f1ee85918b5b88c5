import ArgumentParser
import DurableFiles

/// Checks an output option's path before any work, so a bad path fails in a second (exit 64,
/// naming the option and the path) instead of after the benchmark. Nil (option not given) passes.
func checkOutputPath(_ path: String?, option: String) throws {
    guard let path else { return }
    do {
        try DurableFile.checkWritable(path)
    } catch let error as DurableFileError {
        throw ValidationError("\(option): \(error)")
    }
}

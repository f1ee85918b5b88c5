import Foundation

/// Runs an executable product of this package (`clbench`, `clmodel`) that `swift build --build-tests`
/// built beside the test bundle, for end-to-end tests of the command lines.
public enum BuiltProduct {
    /// The product is not in the build folder.
    public struct NotBuilt: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "\(path) does not exist: build the products before the tests (swift build --build-tests)" }
    }

    /// Runs `name` with `arguments` (and `environment` over this process's, less the variables in
    /// `removing`); returns its exit status, standard output and standard error.
    public static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                           removing: Set<String> = []) throws -> (status: Int32, output: String, errors: String) {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let directory = executable.lastPathComponent.hasSuffix(".xctest") ? executable.deletingLastPathComponent() : executable
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else { throw NotBuilt(path: url.path) }
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, override in override }
            .filter { !removing.contains($0.key) }
        // Output goes to files, read once the product has exited: a chatty product never blocks on
        // a full pipe, and no read is left to fail with EINTR (Foundation's pipe reads trap on it)
        // while the test process's other threads start and reap children.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("built-product-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outputURL = folder.appendingPathComponent("stdout"), errorsURL = folder.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorsURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL), errors = try FileHandle(forWritingTo: errorsURL)
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        try output.close()
        try errors.close()
        let out = try Data(contentsOf: outputURL), err = try Data(contentsOf: errorsURL)
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}

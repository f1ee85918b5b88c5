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
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read both pipes to the end before waiting, so a chatty product never blocks on a full pipe.
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}

import Foundation
import PackagePlugin

/// Turns every `.cl` file of the target into a Swift string literal, so an installed binary
/// carries its kernels and needs no source tree.
@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let sourceTarget = target as? SourceModuleTarget else { return [] }
        let kernelFiles = sourceTarget.sourceFiles
            .map(\.url)
            .filter { $0.pathExtension == "cl" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedKernelSources.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(kernelFiles.count) OpenCL kernel families",
                executable: try context.tool(named: "EmbedKernelsTool").url,
                arguments: [output.path] + kernelFiles.map(\.path),
                inputFiles: kernelFiles,
                outputFiles: [output]
            )
        ]
    }
}

import Foundation
import PackagePlugin

/// Turns every `.html`, `.js` and `.css` file of the target into a Swift string literal keyed by
/// file name (`PlaygroundAssets.embedded`), so the served page needs no files and no network.
@main
struct EmbedWebAssets: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let sourceTarget = target as? SourceModuleTarget else { return [] }
        let assets = sourceTarget.sourceFiles
            .map(\.url)
            .filter { ["html", "js", "css"].contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedWebAssets.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(assets.count) web assets",
                executable: try context.tool(named: "EmbedKernelsTool").url,
                arguments: [output.path, "--type", "PlaygroundAssets", "--full-names"] + assets.map(\.path),
                inputFiles: assets,
                outputFiles: [output]
            )
        ]
    }
}

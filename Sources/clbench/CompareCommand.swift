import ArgumentParser
import CLBenchKit
import Foundation

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare benchmark JSON files side by side (devices, commits, before/after), with ratios to the first.")

    @Argument(help: "Two or more JSON files written by clbench --output or --format json.")
    var files: [String]

    func validate() throws {
        guard files.count >= 2 else { throw ValidationError("give at least two JSON files to compare") }
    }

    func run() throws {
        var entries: [(String, [BenchmarkReport])] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read '\(file)'")
            }
            do {
                entries.append((URL(fileURLWithPath: file).lastPathComponent, try ReportFormatting.decode(data)))
            } catch {
                throw ValidationError("'\(file)' is not a clbench JSON report: \(error)")
            }
        }
        print(ReportComparison.table(entries))
    }
}

import ArgumentParser
import CLBenchKit
import Foundation

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare benchmark JSON files side by side (devices, commits, before/after), with ratios to the first.",
        discussion: """
            Rows are paired by benchmark, variant and sizes. Rows missing from some file, and files holding \
            different benchmarks, are named in a warning on stderr; the exit status is then still 0 as long as \
            every file shares at least one row with the first, and 64 when some file shares none (nothing in it \
            could be compared, e.g. a matmul report against an attention report).
            """)

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
        for line in ReportComparison.warnings(entries) {
            FileHandle.standardError.write(Data("warning: \(line)\n".utf8))
        }
        // A run that shares no row with the first was not compared at all: the wrong files, most likely.
        if ReportComparison.pairing(entries).hasRunWithNothingPaired { throw ExitCode(64) }
    }
}

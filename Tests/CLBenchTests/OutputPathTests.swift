import BuiltProducts
import CLBenchKit
import Foundation
import Testing

/// Output paths are checked before any benchmark runs: a bad one exits 64 at once, naming the path.
@Suite struct OutputPathTests {
    private let missing = "/nonexistent-clgraph-folder/x"

    @Test(arguments: [
        ["matmul", "--sizes", "64", "--output", "/nonexistent-clgraph-folder/x.json"],
        ["matmul", "--sizes", "64", "--plot", "/nonexistent-clgraph-folder/x.svg"],
        ["attention", "--seq", "64", "--output", "/nonexistent-clgraph-folder/x.json"],
        ["all", "--output", "/nonexistent-clgraph-folder/x.json"],
    ])
    func aMissingFolderFailsBeforeTheBenchmark(arguments: [String]) throws {
        let started = Date()
        let run = try BuiltProduct.run("clbench", arguments)
        #expect(run.status == 64, "\(run.status) \(run.errors)")
        #expect(run.errors.contains("/nonexistent-clgraph-folder/x") && run.errors.contains("does not exist"), "\(run.errors)")
        // Nothing was measured: no report on stdout.
        #expect(run.output.isEmpty, "\(run.output)")
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func aFolderGivenAsTheOutputFileFailsBeforeTheBenchmark() throws {
        let folder = FileManager.default.temporaryDirectory.path
        let run = try BuiltProduct.run("clbench", ["matmul", "--sizes", "64", "--output", folder])
        #expect(run.status == 64, "\(run.status) \(run.errors)")
        #expect(run.errors.contains("is a folder"), "\(run.errors)")
        #expect(run.output.isEmpty)
    }

    @Test func reportsAndChartsAreWrittenWhole() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clbench-output-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = folder.appendingPathComponent("r.json"), chart = folder.appendingPathComponent("r.svg")
        // A killed earlier write left its temporary beside the report.
        let stale = folder.appendingPathComponent(".r.json.2000000000.tmp")
        try Data("partial".utf8).write(to: stale)
        let run = try BuiltProduct.run("clbench", ["matmul", "--m", "9", "--n", "7", "--k", "5", "--iters", "2", "--warmup", "0",
                                                   "--output", report.path, "--plot", chart.path, "--quiet"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(try ReportFormatting.decode(Data(contentsOf: report)).first?.benchmark == "matmul")
        #expect(try String(contentsOf: chart, encoding: .utf8).hasSuffix("</svg>\n"))
        #expect(!FileManager.default.fileExists(atPath: stale.path))
    }
}

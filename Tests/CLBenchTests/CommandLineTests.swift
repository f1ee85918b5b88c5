import CLBenchKit
import BuiltProducts
import Foundation
import Testing

/// Runs the built `clbench` end to end on tiny sizes.
@Suite struct CommandLineTests {
    private func clbench(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try BuiltProduct.run("clbench", arguments)
    }

    @Test func matmulWritesAValidJSONReport() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("clbench-test-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try clbench(["matmul", "--m", "9", "--n", "7", "--k", "5", "--iters", "2", "--warmup", "0",
                               "--format", "json", "--output", file.path])
        #expect(run.status == 0, "\(run.errors)")
        let reports = try ReportFormatting.decode(try Data(contentsOf: file))
        #expect(reports.first?.benchmark == "matmul")
        #expect(reports.first?.results.allSatisfy { $0.valid && $0.extra["m"] == 9 } == true)
        #expect(try ReportFormatting.decode(Data(run.output.utf8)).first?.results.count == reports.first?.results.count)
    }

    @Test func badArgumentsFailBeforeAnyWork() throws {
        for arguments in [["matmul", "--m", "0", "--n", "1", "--k", "1"], ["matmul", "--sizes", "12,-3"],
                          ["attention", "--seq", "0"], ["matmul", "--iters", "0"]] {
            let run = try clbench(arguments)
            #expect(run.status == 64, "\(arguments): \(run.status) \(run.errors)")
            #expect(!run.errors.isEmpty)
        }
    }

    @Test func compareRefusesFilesThatAreNotReports() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("clbench-not-json-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("{\"hello\": 1}".utf8).write(to: file)
        let run = try clbench(["compare", file.path, file.path])
        #expect(run.status == 64)
        #expect(run.errors.contains("not a clbench JSON report"))
    }
}

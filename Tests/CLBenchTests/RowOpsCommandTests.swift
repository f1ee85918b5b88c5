import CLBenchKit
import BuiltProducts
import Foundation
import Testing

/// `clbench rowops` end to end on the awkward shapes only (`--quick`).
@Suite struct RowOpsCommandTests {
    private func clbench(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try BuiltProduct.run("clbench", arguments)
    }

    @Test func everyFamilyValidatesEveryApplicableVariantAndMarksTheAutomaticOne() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("clbench-rowops-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try clbench(["rowops", "--quick", "--rounds", "1", "--iters", "2", "--warmup", "0", "--format", "json",
                               "--output", file.path])
        #expect(run.status == 0, "\(run.errors)")
        let reports = try ReportFormatting.decode(Data(try String(contentsOf: file, encoding: .utf8).utf8))
        #expect(Set(reports.compactMap { $0.params["family"] }) == Set(RowOpsBenchmark.families))
        for report in reports {
            #expect(report.benchmark == "rowops")
            let names = report.results.map(\.variant)
            // Two variants each; every shape here keeps its last axis contiguous, so both layout variants apply.
            #expect(names.count == 2, "\(report.params["shape"] ?? ""): \(names)")
            #expect(!names.contains(SameRunCopy.variant))
            #expect(report.results.first?.extra["automatic"] == 1, "the automatic variant comes first: \(names)")
            #expect(report.results.filter { $0.extra["automatic"] == 1 }.count == 1)
            #expect(report.results.filter { $0.extra["fastest"] == 1 }.map(\.variant) == [report.params["fastest"]])
            #expect(report.params["automatic_over_fastest"].flatMap(Double.init).map { $0 >= 1 } == true, "\(report.params)")
            for result in report.results {
                #expect(result.valid, "\(result.variant): \(result.failure ?? "")")
                #expect(result.gbps > 0 && result.percentOfPeak > 0 && result.extra["percent_of_same_run_copy"] != nil)
            }
        }
    }

    @Test func csvAndOneFamily() throws {
        let run = try clbench(["rowops", "--quick", "--family", "layout", "--iters", "1", "--warmup", "0", "--format", "csv"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("layout.1 (strided copy)") && run.output.contains("layout.2 (contiguous runs)"))
        #expect(!run.output.contains("softmax."))
    }

    @Test func badArgumentsFailBeforeAnyWork() throws {
        let unknown = try clbench(["rowops", "--family", "softmax,matmul"])
        #expect(unknown.status == 64)
        #expect(unknown.errors.contains("matmul") && unknown.errors.contains("embedding, layout, loss, reduce, softmax"),
                "\(unknown.errors)")
        for arguments in [["rowops", "--rounds", "0"], ["rowops", "--family", ""], ["rowops", "--iters", "0"]] {
            let run = try clbench(arguments)
            #expect(run.status == 64, "\(arguments): \(run.status) \(run.errors)")
            #expect(!run.errors.isEmpty)
        }
    }
}

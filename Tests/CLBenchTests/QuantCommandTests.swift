import CLBenchKit
import BuiltProducts
import Foundation
import Testing

/// `clbench quant` end to end on a tiny shape: JSON report, variants, extras; bad arguments refused.
@Suite struct QuantCommandTests {
    private func clbench(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try BuiltProduct.run("clbench", arguments)
    }

    @Test func quantWritesOneValidReportPerBatch() throws {
        let run = try clbench(["quant", "--rows", "13", "--cols", "96", "--batch", "1,3", "--variant", "1,2",
                               "--iters", "2", "--warmup", "0", "--format", "json"])
        #expect(run.status == 0, "\(run.errors)")
        let reports = try ReportFormatting.decode(Data(run.output.utf8))
        #expect(reports.map { $0.params["batch"] } == ["1", "3"])
        for report in reports {
            #expect(report.benchmark == "quant")
            #expect(report.results.map(\.variant) == ["f32", "q8_0.1", "q8_0.2", "q4_0.1", "q4_0.2"])
            let batch = Double(report.params["batch"] ?? "")
            #expect(report.results.allSatisfy { $0.valid && $0.extra["batch"] == batch })
            let bytes = Dictionary(uniqueKeysWithValues: report.results.map { ($0.variant, $0.extra["weight_bytes"] ?? 0) })
            #expect(bytes["f32"] == Double(13 * 96 * 4))
            // Device layout: 39 fp16 scales padded to 80 bytes, then 39 blocks of quants.
            #expect(bytes["q8_0.1"] == Double(80 + 39 * 32))
            #expect(bytes["q4_0.1"] == Double(80 + 39 * 16))
        }
    }

    @Test func quantRefusesBadArguments() throws {
        for arguments in [["quant", "--cols", "48"], ["quant", "--batch", "0"], ["quant", "--variant", "7"],
                          ["quant", "--rows-per-item", "99"]] {
            let run = try clbench(arguments)
            #expect(run.status == 64, "\(arguments): \(run.status) \(run.errors)")
            #expect(!run.errors.isEmpty)
        }
    }
}

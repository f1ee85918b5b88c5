import CLBenchKit
import CLRuntime
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
            // The f16 row runs the automatic f16 variant (1 on CPUs, 2 on GPUs).
            #expect(report.results.map(\.variant).dropLast() == ["f32", "q8_0.1", "q8_0.2", "q4_0.1", "q4_0.2"])
            #expect(["f16.1", "f16.2"].contains(report.results.last?.variant ?? ""))
            let batch = Double(report.params["batch"] ?? "")
            #expect(report.results.allSatisfy { $0.valid && $0.extra["batch"] == batch })
            let bytes = Dictionary(uniqueKeysWithValues: report.results.map { ($0.variant, $0.extra["weight_bytes"] ?? 0) })
            #expect(bytes["f32"] == Double(13 * 96 * 4))
            // Device layout: 39 fp16 scales padded to 80 bytes, then 39 blocks of quants.
            #expect(bytes["q8_0.1"] == Double(80 + 39 * 32))
            #expect(bytes["q4_0.1"] == Double(80 + 39 * 16))
            #expect(bytes["f16.1", default: bytes["f16.2"] ?? 0] == Double(13 * 96 * 2))
        }
    }

    /// `--f16-variant 1,2,3`: 1 and 2 run on every device; 3 (half products) runs where the device
    /// reports cl_khr_fp16 and is otherwise named on stderr as not offered, the run still succeeding.
    @Test func f16VariantsFollowTheDevicesFP16Support() throws {
        let run = try clbench(["quant", "--rows", "7", "--cols", "96", "--batch", "2", "--variant", "1", "--f16-variant", "1,2,3",
                               "--iters", "1", "--warmup", "0", "--format", "json"])
        #expect(run.status == 0, "\(run.errors)")
        let report = try #require(try ReportFormatting.decode(Data(run.output.utf8)).first)
        let f16 = report.results.map(\.variant).filter { $0.hasPrefix("f16.") }
        #expect(report.results.allSatisfy { $0.valid })
        // The same selection as the child process (CLGRAPH_DEVICE, else the first GPU, else device 0).
        if try OpenCL.selectDevice().info.supportsFP16 {
            #expect(f16 == ["f16.1", "f16.2", "f16.3"])
        } else {
            #expect(f16 == ["f16.1", "f16.2"])
            #expect(run.errors.contains("not offered by this device") && run.errors.contains("cl_khr_fp16"), "\(run.errors)")
        }
    }

    @Test func quantRefusesBadArguments() throws {
        for arguments in [["quant", "--cols", "48"], ["quant", "--batch", "0"], ["quant", "--variant", "7"],
                          ["quant", "--rows-per-item", "99"], ["quant", "--f16-variant", "4"]] {
            let run = try clbench(arguments)
            #expect(run.status == 64, "\(arguments): \(run.status) \(run.errors)")
            #expect(!run.errors.isEmpty)
        }
    }
}

import CLBenchKit
import BuiltProducts
import Foundation
import Testing

/// `clbench layernorm` end to end on tiny sizes.
@Suite struct LayerNormCommandTests {
    private func clbench(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try BuiltProduct.run("clbench", arguments)
    }

    @Test func everyVariantInBothFormsIsValidatedAndCarriesAdversarialNMSE() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("clbench-layernorm-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try clbench(["layernorm", "--rows", "3", "--cols", "7,33", "--all-device-classes", "--iters", "2",
                               "--warmup", "0", "--format", "json", "--output", file.path])
        #expect(run.status == 0, "\(run.errors)")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.contains("\"adversarial_nmse\""))
        let reports = try ReportFormatting.decode(Data(text.utf8))
        #expect(reports.map(\.benchmark) == ["layernorm", "layernorm"])
        #expect(reports.map { $0.params["cols"] } == ["7", "33"])
        for report in reports {
            let names = Set(report.results.map(\.variant))
            for kind in ["twopass", "welford", "onepass", "rmsnorm", "residual", "proportions"] {
                #expect(names.contains("\(kind)-cpu") && names.contains("\(kind)-gpu"), "\(kind) missing: \(names)")
            }
            #expect(!names.contains(LayerNormBenchmark.copyVariant))
            #expect(report.params["same_run_copy_gbps"].flatMap(Double.init).map { $0 > 0 } == true, "\(report.params)")
            for result in report.results {
                #expect(result.valid, "\(result.variant): \(result.failure ?? "")")
                #expect(result.extra["adversarial_nmse"]?.isFinite == true, "\(result.variant)")
                #expect(result.extra["percent_of_copy_bw"] != nil && result.extra["percent_of_same_run_copy"] != nil)
            }
            // The adversarial column shows the one-pass variance's cancellation; it must not fail the run.
            let adversarial = Dictionary(uniqueKeysWithValues: report.results.map { ($0.variant, $0.extra["adversarial_nmse"] ?? 0) })
            #expect(adversarial["onepass-cpu"]! > 100 * adversarial["twopass-cpu"]!, "\(adversarial)")
        }
    }

    @Test func tableHasTheAdversarialColumn() throws {
        let run = try clbench(["layernorm", "--rows", "2", "--cols", "16", "--iters", "1", "--warmup", "0"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("adversarial_nmse"))
        #expect(run.output.contains("onepass-"))
    }

    @Test func badArgumentsFailBeforeAnyWork() throws {
        for arguments in [["layernorm", "--rows", "0"], ["layernorm", "--cols", "768,-3"], ["layernorm", "--cols", "x"],
                          ["layernorm", "--eps", "-1"]] {
            let run = try clbench(arguments)
            #expect(run.status == 64, "\(arguments): \(run.status) \(run.errors)")
            #expect(!run.errors.isEmpty)
        }
    }
}

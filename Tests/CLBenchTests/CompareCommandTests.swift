import BuiltProducts
import CLBenchKit
import Foundation
import Testing

/// `clbench compare` names what it could not pair: other benchmarks, missing rows.
@Suite struct CompareCommandTests {
    private func report(_ benchmark: String, variants: [String], size: Double = 64) -> BenchmarkReport {
        let device = DeviceSummary(info: BenchTestDevice.context.device.info, peak: BenchTestDevice.peak)
        let results = variants.map { variant in
            BenchmarkResult(variant: variant, description: "", medianMs: 2, minMs: 2, maxMs: 2, kernelMedianMs: 2, gflops: 1,
                            gbps: 1, percentOfPeak: 1, nmse: 0, maxAbsError: 0, valid: true, speedupVsBaseline: 1,
                            extra: benchmark == "attention" ? ["seq": size] : ["m": size, "n": size, "k": size])
        }
        return BenchmarkReport(benchmark: benchmark, device: device, params: [:], results: results)
    }

    /// Writes each report list to a file and runs `clbench compare` on them.
    private func compare(_ runs: [[BenchmarkReport]]) throws -> (status: Int32, output: String, errors: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clbench-compare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try runs.enumerated().map { index, reports -> String in
            let file = folder.appendingPathComponent("run\(index).json")
            try Data(try ReportFormatting.json(reports).utf8).write(to: file)
            return file.path
        }
        return try BuiltProduct.run("clbench", ["compare"] + files)
    }

    @Test func twoDifferentBenchmarksWarnNamingBothAndExit64() throws {
        let run = try compare([[report("matmul", variants: ["matmul.1", "matmul.2"])], [report("attention", variants: ["fused"])]])
        #expect(run.status == 64, "\(run.status) \(run.errors)")
        #expect(run.errors.contains("different benchmarks") && run.errors.contains("[0] run0.json: matmul")
                && run.errors.contains("[1] run1.json: attention"), "\(run.errors)")
        #expect(run.errors.contains("3 row(s) could not be paired"), "\(run.errors)")
        #expect(run.errors.contains("matmul matmul.2 [k=64,m=64,n=64] (only in [0])")
                && run.errors.contains("attention fused [seq=64] (only in [1])"), "\(run.errors)")
        #expect(run.errors.contains("[1] run1.json shares no row with [0] run0.json"), "\(run.errors)")
    }

    @Test func aRowMissingFromOneRunIsNamedAndTheRestCompared() throws {
        let run = try compare([[report("matmul", variants: ["matmul.1", "matmul.2"])], [report("matmul", variants: ["matmul.1"])]])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("1.00x"))
        #expect(run.errors.contains("1 row(s) could not be paired") && run.errors.contains("matmul matmul.2"), "\(run.errors)")
        #expect(!run.errors.contains("different benchmarks"))
    }

    @Test func matchingRunsGiveNoWarning() throws {
        let run = try compare([[report("matmul", variants: ["matmul.1"])], [report("matmul", variants: ["matmul.1"])]])
        #expect(run.status == 0 && run.errors.isEmpty, "\(run.errors)")
    }
}

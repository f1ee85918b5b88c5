import ArgumentParser
import CLBackend
import CLBenchKit
import CLRuntime
import Foundation

struct Matmul: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "SGEMM variants: time, GFLOP/s, % of peak, error against a float64 reference.",
        discussion: """
            Numbered variants run with their device-class defaults. When `clbench tune matmul` has stored a \
            winner for the shape's class (square-large, tall-skinny, gemv, batched × layout), a 'matmul.tuned' \
            row runs it beside them. The tuning cache is only read here.
            """)

    @OptionGroup var benchmark: BenchmarkOptions

    @Option(help: "Rows of C (with --n and --k: one shape instead of --sizes).")
    var m: Int?
    @Option(help: "Columns of C.")
    var n: Int?
    @Option(help: "Inner dimension.")
    var k: Int?
    @Option(help: "Square sizes to sweep, comma-separated.")
    var sizes: String = "256,512,1024"
    @Flag(help: "A stored transposed ([K, M]).")
    var transposeA = false
    @Flag(help: "B stored transposed ([N, K], the linear-layer layout).")
    var transposeB = false
    @Option(help: "Variants to run, comma-separated (default: all; the scalar variant 1 only up to 1 GFLOP per run).")
    var variant: String?
    @Flag(help: "No 'matmul.tuned' row even when the device's tuning cache has a winner for the shape's class.")
    var noTuned = false
    @Option(help: "Measure this model's products as a plan runs them (tuned or default configuration), in the same interleaved rounds as a 1024³ reference; 'speedup' is then each product's GFLOP/s over the reference's (JSON: vs_1024): \(MatmulModel.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model: MatmulModel?

    func validate() throws {
        let given = [m, n, k].compactMap { $0 }
        guard given.isEmpty || given.count == 3 else { throw ValidationError("give all of --m, --n and --k, or none") }
        guard given.allSatisfy({ $0 > 0 }) else { throw ValidationError("--m, --n and --k must be positive") }
        _ = try positiveList(sizes, name: "--sizes")
        if let variant {
            _ = try variants(variant, name: "--variant", of: MatmulFamily.Variant.self)
        }
    }

    func run() throws {
        try reportingErrors {
            let context = try CLContext(selecting: benchmark.deviceOptions.device)
            let harness = try benchmark.makeHarness(context: context)
            let tuned = noTuned ? nil : MatmulTuningCache.shared(for: context.device.info)
            if let model {
                try benchmark.emit([try measure(model, context: context, harness: harness, tuned: tuned)])
                return
            }
            let squares = try positiveList(sizes, name: "--sizes").map { ($0, $0, $0) }
            let shapes: [(Int, Int, Int)] = m.map { [($0, n!, k!)] } ?? squares
            var reports: [BenchmarkReport] = []
            for (m, n, k) in shapes {
                try checkFits(context: context, elements: m * k + k * n + 2 * m * n)
                let explicit = try variant.map { try variants($0, name: "--variant", of: MatmulFamily.Variant.self) }
                let flops = 2.0 * Double(m) * Double(n) * Double(k)
                let measured = explicit ?? MatmulFamily.Variant.allCases.filter { $0 != .simple || flops <= 1e9 }
                let cases = try MatmulBenchmark.cases(context: context, m: m, n: n, k: k, transposeA: transposeA,
                                                      transposeB: transposeB, variants: measured, tuned: tuned)
                var results = try harness.measure(cases)
                if benchmark.format == .table {
                    // The table's fixed columns lack these; JSON and CSV carry them as min_ms / max_abs_error.
                    for index in results.indices {
                        results[index].extra["min_ms"] = results[index].minMs
                        results[index].extra["max_err"] = results[index].maxAbsError
                    }
                }
                reports.append(BenchmarkReport(
                    benchmark: "matmul", device: DeviceSummary(info: context.device.info, peak: harness.peak),
                    params: ["m": "\(m)", "n": "\(n)", "k": "\(k)", "transpose_a": "\(transposeA)", "transpose_b": "\(transposeB)"],
                    results: results))
            }
            try benchmark.emit(reports, extraColumns: benchmark.format == .table ? ["min_ms", "max_err"] : [])
        }
    }
}

extension Matmul {
    /// `--model`: the model's products and a 1024³ reference in one harness run; `vs_1024` is each
    /// product's GFLOP/s over the reference's (the "within 2× of 1024³" is vs_1024 ≥ 0.5).
    func measure(_ model: MatmulModel, context: CLContext, harness: BenchmarkHarness,
                 tuned: MatmulTuningTable?) throws -> BenchmarkReport {
        let reference = MatmulShape(m: 1024, n: 1024, k: 1024)
        let named = [("ref \(reference.tuningKey)", reference)] + model.shapes.map { ("\(model.rawValue) \($0.tuningKey)", $0) }
        let cases = try MatmulBenchmark.automaticCases(context: context, shapes: named, tuned: tuned)
        var results = try harness.measure(cases)
        let referenceRate = results.first?.gflops ?? 0
        for index in results.indices {
            // Different shapes: "speedup" is the rate ratio (GFLOP/s over the reference's), not a time ratio.
            results[index].speedupVsBaseline = referenceRate > 0 ? results[index].gflops / referenceRate : .nan
            results[index].extra["vs_1024"] = results[index].speedupVsBaseline
        }
        return BenchmarkReport(benchmark: "matmul", device: DeviceSummary(info: context.device.info, peak: harness.peak),
                               params: ["model": model.rawValue, "reference": reference.tuningKey], results: results)
    }
}

/// Refuses sizes whose buffers cannot fit the device, before any work is done.
func checkFits(context: CLContext, elements: Int) throws {
    let bytes = elements * 4
    let info = context.device.info
    guard bytes <= info.globalMemoryBytes * 3 / 4 else {
        throw ValidationError("these sizes need \(bytes >> 20) MiB of buffers; \(info.name) has \(info.globalMemoryBytes >> 20) MiB")
    }
}

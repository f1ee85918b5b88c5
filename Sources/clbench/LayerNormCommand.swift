import ArgumentParser
import CLBenchKit
import CLRuntime
import Foundation

struct LayerNorm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layernorm",
        abstract: "Row-normalisation variants (two-pass, Welford, one-pass, RMSNorm, residual-fused, proportions), validated against float64.",
        discussion: """
            Each variant is also run once on adversarial rows (1e4 + N(0,1)); its NMSE there is the \
            adversarial_nmse column, which informs and never fails the run. GB/s counts bytes read \
            plus written; percent_of_copy_bw is against the measured copy bandwidth (clbench peak).
            """)

    @OptionGroup var benchmark: BenchmarkOptions

    @Option(help: "Rows (tokens).")
    var rows: Int = 4096
    @Option(help: "Columns (features); comma-separated to sweep, e.g. 768,1024,4096.")
    var cols: String = "768"
    @Option(help: "The epsilon added to the variance (mean magnitude for the proportions norm).")
    var eps: Float = 1e-5
    @Flag(name: [.customLong("all-forms"), .customLong("all-device-classes")],
          help: "Also run the kernels written for the other device class (GPU-style kernels on a CPU and vice versa).")
    var allForms = false

    func validate() throws {
        guard rows > 0 else { throw ValidationError("--rows must be positive, got \(rows)") }
        _ = try positiveList(cols, name: "--cols")
        guard eps >= 0, eps.isFinite else { throw ValidationError("--eps must be finite and >= 0, got \(eps)") }
    }

    func run() throws {
        try reportingErrors {
            let context = try CLContext(selecting: benchmark.deviceOptions.device)
            let widths = try positiveList(cols, name: "--cols")
            let forms = allForms ? 2 : 1
            for width in widths {
                // Inputs x, r and their adversarial copies, and per variant an output (plus the residual sum).
                try checkFits(context: context, elements: rows * width * (5 + forms * 7))
            }
            let harness = try benchmark.makeHarness(context: context)
            var reports: [BenchmarkReport] = []
            for width in widths {
                var configuration = LayerNormBenchmark.Configuration()
                configuration.rows = rows
                configuration.cols = width
                configuration.eps = eps
                configuration.allForms = allForms
                let results = try harness.measure(try LayerNormBenchmark.cases(context: context, configuration))
                var params = ["rows": "\(rows)", "cols": "\(width)", "eps": "\(eps)"]
                let annotated = LayerNormBenchmark.annotate(results, peak: harness.peak, params: &params)
                reports.append(BenchmarkReport(
                    benchmark: "layernorm", device: DeviceSummary(info: context.device.info, peak: harness.peak),
                    params: params, results: annotated))
            }
            try benchmark.emit(reports, extraColumns: ["percent_of_copy_bw", "percent_of_same_run_copy", "adversarial_nmse"])
            if benchmark.format == .table {
                for report in reports { if let line = LayerNormBenchmark.summary(report) { print(line) } }
            }
        }
    }
}

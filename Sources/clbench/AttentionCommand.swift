import ArgumentParser
import CLBenchKit
import CLRuntime
import Foundation

struct Attention: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fused vs unfused scaled-dot-product attention (B, H, T, D), validated against float64.")

    @OptionGroup var benchmark: BenchmarkOptions

    @Option(help: "Sequence length.")
    var seq: Int = 256
    @Option(help: "Sweep several sequence lengths, comma-separated (overrides --seq).")
    var seqs: String?
    @Option(help: "Batch size.")
    var batch: Int = 1
    @Option(help: "Attention heads.")
    var heads: Int = 8
    @Option(help: "Head dimension.")
    var headDim: Int = 64
    @Flag(inversion: .prefixedNo, help: "Causal mask (default on).")
    var causal = true
    @Flag(help: "Also run the kernels written for the other device class (GPU-style kernels on a CPU and vice versa).")
    var allForms = false
    @Option(help: "Extra rows of fused variant 4 with these blockings, comma-separated QxK[gG][f][n][w]: Q queries per register group (1-8), K keys per block (16|32), G groups per work-item (1-16), f = -cl-fast-relaxed-math, n = native_exp2, w = P·V with all accumulators live (e.g. 2x16,2x16g8,8x32f,4x32w). Default: 8x32 where the device's native float vector is 16 wide (AVX-512), else 4x16.")
    var blocking: String?

    func validate() throws {
        guard seq > 0, batch > 0, heads > 0, headDim > 0 else {
            throw ValidationError("--seq, --batch, --heads and --head-dim must be positive")
        }
        if let seqs { _ = try positiveList(seqs, name: "--seqs") }
        if let blocking {
            do { _ = try AttentionBenchmark.parseBlockings(blocking) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        try reportingErrors {
            let context = try CLContext(selecting: benchmark.deviceOptions.device)
            let lengths = try seqs.map { try positiveList($0, name: "--seqs") } ?? [seq]
            for length in lengths {
                // q, k, v, out, and the unfused path's T×T scores.
                try checkFits(context: context, elements: batch * heads * (4 * length * headDim + length * length))
            }
            let harness = try benchmark.makeHarness(context: context)
            var reports: [BenchmarkReport] = []
            for length in lengths {
                var configuration = AttentionBenchmark.Configuration()
                configuration.batch = batch
                configuration.heads = heads
                configuration.seq = length
                configuration.headDim = headDim
                configuration.causal = causal
                configuration.allForms = allForms
                configuration.blockings = try blocking.map(AttentionBenchmark.parseBlockings) ?? []
                let results = try harness.measure(try AttentionBenchmark.cases(context: context, configuration))
                reports.append(BenchmarkReport(
                    benchmark: "attention", device: DeviceSummary(info: context.device.info, peak: harness.peak),
                    params: ["batch": "\(batch)", "heads": "\(heads)", "seq": "\(length)", "head_dim": "\(headDim)",
                             "causal": "\(causal)"],
                    results: results))
            }
            try benchmark.emit(reports, extraColumns: ["scratch_bytes"])
            if benchmark.format == .table { printFusionSummary(reports) }
        }
    }

    /// One line per run: best fused against best unfused.
    private func printFusionSummary(_ reports: [BenchmarkReport]) {
        for report in reports {
            let valid = report.results.filter(\.valid)
            guard let fused = valid.filter({ $0.fused == true }).min(by: { $0.kernelMedianMs < $1.kernelMedianMs }),
                  let unfused = valid.filter({ $0.fused == false }).min(by: { $0.kernelMedianMs < $1.kernelMedianMs })
            else { continue }
            print(String(format: "T=%@: best fused %@ %.3f ms vs best unfused %@ %.3f ms: %.2fx; fused needs no %.1f MiB score matrix",
                         report.params["seq"] ?? "?", fused.variant, fused.kernelMedianMs, unfused.variant,
                         unfused.kernelMedianMs, unfused.kernelMedianMs / max(fused.kernelMedianMs, 1e-9),
                         (unfused.extra["scratch_bytes"] ?? 0) / 1048576))
        }
    }
}

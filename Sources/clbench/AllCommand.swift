import ArgumentParser
import CLBackend
import CLBenchKit
import CLRuntime
import DurableFiles
import Foundation

struct All: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every benchmark with small defaults and write one JSON file (an array of reports).")

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "The JSON file to write.")
    var output: String = "clbench-all.json"

    @Option(help: "Timed iterations per variant.")
    var iters: Int = 10

    @Flag(help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        guard iters > 0 else { throw ValidationError("--iters must be positive") }
        try checkOutputPath(output, option: "--output")
    }

    func run() throws {
        try reportingErrors {
            let context = try CLContext(selecting: deviceOptions.device)
            let show = !quiet && isatty(STDERR_FILENO) != 0
            let say: (String) -> Void = { if show { FileHandle.standardError.write(Data("\u{1B}[2K\r\($0)".utf8)) } }
            var timing = TimingOptions()
            timing.iterations = iters
            timing.iterationsPerRound = min(5, iters)
            let peak = try DevicePeakCache.peak(for: context)
            let harness = BenchmarkHarness(context: context, peak: peak, timing: timing, progress: say)
            let device = DeviceSummary(info: context.device.info, peak: peak)
            var reports: [BenchmarkReport] = []
            for size in [256, 512] {
                say("matmul \(size)")
                let cases = try MatmulBenchmark.cases(context: context, m: size, n: size, k: size, transposeA: false,
                                                      transposeB: false, variants: [.cpuRegisterBlocked, DeviceClass(context.device.info) == .gpu ? .gpuTiled : .simple])
                reports.append(BenchmarkReport(benchmark: "matmul", device: device,
                                               params: ["m": "\(size)", "n": "\(size)", "k": "\(size)"],
                                               results: try harness.measure(cases)))
            }
            for seq in [128, 256] {
                say("attention T=\(seq)")
                var configuration = AttentionBenchmark.Configuration()
                configuration.seq = seq
                reports.append(BenchmarkReport(benchmark: "attention", device: device,
                                               params: ["batch": "1", "heads": "8", "seq": "\(seq)", "head_dim": "64", "causal": "true"],
                                               results: try harness.measure(try AttentionBenchmark.cases(context: context, configuration))))
            }
            for cols in [256, 768] {
                say("layernorm 512x\(cols)")
                var configuration = LayerNormBenchmark.Configuration()
                configuration.rows = 512
                configuration.cols = cols
                let results = try harness.measure(try LayerNormBenchmark.cases(context: context, configuration))
                var params = ["rows": "512", "cols": "\(cols)", "eps": "\(configuration.eps)"]
                let annotated = LayerNormBenchmark.annotate(results, peak: peak, params: &params)
                reports.append(BenchmarkReport(benchmark: "layernorm", device: device, params: params, results: annotated))
            }
            for batch in [1, 8] {
                say("quant 1024x1024 batch \(batch)")
                let gpu = DeviceClass(context.device.info) == .gpu
                let cases = try QuantBenchmark.cases(context: context, rows: 1024, cols: 1024, batch: batch,
                                                     quantVariants: [gpu ? .gpu : .cpu], halfVariants: [gpu ? .gpu : .cpu])
                reports.append(BenchmarkReport(benchmark: "quant", device: device,
                                               params: ["rows": "1024", "cols": "1024", "batch": "\(batch)"],
                                               results: try harness.measure(cases)))
            }
            if show { FileHandle.standardError.write(Data("\u{1B}[2K\r".utf8)) }
            try DurableFile.write(try ReportFormatting.json(reports), to: output)
            for report in reports {
                let columns = report.benchmark == "layernorm" ? ["percent_of_same_run_copy", "adversarial_nmse"] : []
                print(ReportFormatting.table(report, extraColumns: columns)); print()
            }
            print("wrote \(output)")
            let status = BenchmarkReport.exitStatus(reports)
            if status != 0 { throw ExitCode(status) }
        }
    }
}

import ArgumentParser
import CLBackend
import CLBenchKit
import CLRuntime
import DurableFiles
import Foundation

/// Options shared by every benchmark subcommand.
struct BenchmarkOptions: ParsableArguments {
    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Output format: table, json or csv.")
    var format: OutputFormat = .table

    @Option(help: "Also write the JSON report to this file (its folder is checked before the benchmark runs).")
    var output: String?

    @Option(help: "Write an SVG bar chart of the variants to this file.")
    var plot: String?

    @Option(help: "Warm-up runs per variant (pocl compiles once per new work size).")
    var warmup: Int = 3

    @Option(help: "Timed iterations per variant.")
    var iters: Int = 20

    @Option(help: "Keep timing until each variant has run at least this many seconds.")
    var minTime: Double?

    @Flag(help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        guard warmup >= 0 else { throw ValidationError("--warmup must be zero or more") }
        guard iters > 0 else { throw ValidationError("--iters must be positive") }
        if let minTime, minTime <= 0 { throw ValidationError("--min-time must be positive") }
        try checkOutputPath(output, option: "--output")
        try checkOutputPath(plot, option: "--plot")
    }

    var timing: TimingOptions {
        var timing = TimingOptions()
        timing.warmup = warmup
        timing.iterations = iters
        timing.minSeconds = minTime
        timing.iterationsPerRound = min(5, iters)
        return timing
    }

    /// Progress lines on stderr, only for a terminal and without --quiet.
    var progress: (String) -> Void {
        let show = !quiet && isatty(STDERR_FILENO) != 0
        return { message in if show { FileHandle.standardError.write(Data("\u{1B}[2K\r\(message)".utf8)) } }
    }

    func makeHarness(context: CLContext) throws -> BenchmarkHarness {
        let peak = try DevicePeakCache.peak(for: context)
        return BenchmarkHarness(context: context, peak: peak, timing: timing, progress: progress)
    }

    /// Prints the reports, writes --output and --plot, and fails (exit 1) if any result is invalid.
    func emit(_ reports: [BenchmarkReport], extraColumns: [String] = []) throws {
        if !quiet && isatty(STDERR_FILENO) != 0 { FileHandle.standardError.write(Data("\u{1B}[2K\r".utf8)) }
        switch format {
        case .json: print(try ReportFormatting.json(reports))
        case .csv: print(ReportFormatting.csv(reports))
        case .table: print(reports.map { ReportFormatting.table($0, extraColumns: extraColumns) }.joined(separator: "\n\n"))
        }
        if let output {
            try DurableFile.write(try ReportFormatting.json(reports), to: output)
        }
        if let plot, let first = reports.first {
            var merged = first
            merged.results = reports.flatMap { report in
                report.results.map { result in
                    var result = result
                    if reports.count > 1 {
                        result.variant += " " + report.params.sorted { $0.key < $1.key }.map { "\($0.value)" }.joined(separator: "/")
                    }
                    return result
                }
            }
            try DurableFile.write(SVGBarChart.render(merged), to: plot)
        }
        let status = BenchmarkReport.exitStatus(reports)
        if status != 0 { throw ExitCode(status) }
    }
}

/// Parses a comma-separated list of positive integers (`--sizes 256,512`).
func positiveList(_ text: String, name: String) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
        throw ValidationError("\(name) must be a comma-separated list of positive integers, got '\(text)'")
    }
    return values.map { $0! }
}

/// Parses a comma-separated list of a family's variant numbers (`--variant 2,3`).
func variants<V: KernelVariant>(_ text: String, name: String, of type: V.Type) throws -> [V] {
    try positiveList(text, name: name).map { number in
        do { return try V.numbered(number) } catch { throw ValidationError("\(name): \(error)") }
    }
}

import ArgumentParser
import CLBenchKit
import CLRuntime
import Foundation

struct Peak: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the device's peak fp32 rate and memory bandwidth (cached for % of peak).",
        discussion: """
            Measures until two measurements agree within 15% on the fp32 rate and the bandwidths (at most 4). \
            An agreed peak raises each cached figure it beats (a busy machine only lowers figures); --remeasure \
            replaces the cached peak, higher or lower. When no two agree, nothing is cached and a warning says so \
            (with --remeasure the exit status is then 1). Benchmarks measure only when nothing is cached.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    @Option(help: "Timed runs per probe (the best and the median are reported).")
    var runs: Int = 10

    @Flag(help: "Print the cached result instead of measuring (measure if none).")
    var cached = false

    @Flag(help: "Replace the cached peak with this measurement, even when it is lower.")
    var remeasure = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        guard runs > 0 else { throw ValidationError("--runs must be positive") }
        guard !(cached && remeasure) else { throw ValidationError("give --cached or --remeasure, not both") }
    }

    func run() throws {
        try reportingErrors {
            let context = try CLContext(selecting: deviceOptions.device)
            let info = context.device.info
            var probe = PeakProbe(context: context)
            probe.timedRuns = runs
            let showProgress = !quiet && isatty(STDERR_FILENO) != 0
            var measurement = 0
            probe.progress = { if showProgress { FileHandle.standardError.write(Data("measurement \(measurement): \($0)…\n".utf8)) } }
            let mode: DevicePeakCache.Mode = cached ? .cachedOrMeasure : remeasure ? .remeasure : .measureKeepingBest
            let resolution = try DevicePeakCache.resolve(device: info, mode: mode) {
                measurement += 1
                return try probe.measure()
            }
            let peak = resolution.peak
            let best = resolution.cached
            switch format {
            case .json: print(try jsonText(peak))
            case .csv:
                print("device,fp32_gflops,fp32_median_gflops,copy_gbps,read_gbps,write_gbps,buffer_bytes,layout")
                print("\"\(peak.device)\",\(peak.fp32GFLOPS),\(peak.fp32MedianGFLOPS),\(peak.copyGBps),\(peak.readGBps),\(peak.writeGBps),\(peak.bandwidthBufferBytes),\(peak.bestLayout)")
            case .table:
                print("device      \(info.summary)")
                print(String(format: "fp32 fma    %8.1f GFLOP/s best   %8.1f median", peak.fp32GFLOPS, peak.fp32MedianGFLOPS))
                print(String(format: "copy        %8.1f GB/s (read+write bytes, %@ layout, %d MiB)", peak.copyGBps,
                             peak.bestLayout, peak.bandwidthBufferBytes >> 20))
                print(String(format: "read        %8.1f GB/s", peak.readGBps))
                print(String(format: "write       %8.1f GB/s", peak.writeGBps))
                if !resolution.settled {
                    print("not cached: no two measurements agreed (see the warning)")
                }
                if let best, best != peak {
                    print(String(format: "cached peak (used for %% of peak): fp32 %.1f GFLOP/s, copy %.1f GB/s",
                                 best.fp32GFLOPS, best.copyGBps))
                }
            }
            if remeasure && !resolution.settled { throw ExitCode(1) }
        }
    }
}

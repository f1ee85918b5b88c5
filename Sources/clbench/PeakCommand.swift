import ArgumentParser
import CLBenchKit
import CLRuntime
import Foundation

struct Peak: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the device's peak fp32 rate and memory bandwidth (cached for % of peak).")

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    @Option(help: "Timed runs per probe (the best and the median are reported).")
    var runs: Int = 10

    @Flag(help: "Print the cached result instead of measuring (measure if none).")
    var cached = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        guard runs > 0 else { throw ValidationError("--runs must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let context = try CLContext(selecting: deviceOptions.device)
            let info = context.device.info
            let peak: DevicePeak
            var best: DevicePeak?
            if cached, let stored = DevicePeakCache.load(for: info) {
                peak = stored
            } else {
                var probe = PeakProbe(context: context)
                probe.timedRuns = runs
                let showProgress = !quiet && isatty(STDERR_FILENO) != 0
                probe.progress = { if showProgress { FileHandle.standardError.write(Data("measuring \($0)…\n".utf8)) } }
                peak = try probe.measure()
                best = DevicePeakCache.store(peak, for: info)
            }
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
                if let best, best != peak {
                    print(String(format: "cached peak (best seen, used for %% of peak): fp32 %.1f GFLOP/s, copy %.1f GB/s",
                                 best.fp32GFLOPS, best.copyGBps))
                }
            }
        }
    }
}

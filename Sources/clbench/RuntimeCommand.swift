import ArgumentParser
import CLBenchKit
import CLRuntime
import Foundation

struct Runtime: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure program build times (cold, warm, from the binary cache) and kernel launch overhead.")

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    @Option(help: "Launches per overhead measurement.")
    var launches: Int = 1000

    @Option(help: "Repeat the whole probe this many times (report each).")
    var repeats: Int = 1

    func validate() throws {
        guard launches > 0, repeats > 0 else { throw ValidationError("--launches and --repeats must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let device = try OpenCL.selectDevice(deviceOptions.device)
            var results: [RuntimeCosts] = []
            for _ in 0..<repeats { results.append(try RuntimeCostProbe.measure(device: device, launches: launches)) }
            switch format {
            case .json: print(try jsonText(results))
            case .table, .csv:
                print("device \(device.info.summary)")
                print("build_ms(cold,warm,store,binary),first_result_ms(cold,warm,binary),binary_bytes,single_launch_us,batched_launch_us")
                for r in results {
                    print(String(format: "%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%d,%.2f,%.2f", r.coldBuildMs, r.warmBuildMs, r.storeBuildMs,
                                 r.binaryCacheBuildMs, r.coldFirstResultMs, r.warmFirstResultMs, r.binaryCacheFirstResultMs,
                                 r.binaryBytes, r.singleLaunchMicroseconds, r.batchedLaunchMicroseconds))
                }
            }
        }
    }
}

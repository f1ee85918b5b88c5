import ArgumentParser
import CLRuntime
import Foundation

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every OpenCL platform and device with its capabilities.")

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    func run() throws {
        try reportingErrors {
            let devices = try OpenCL.devices().map(\.info)
            switch format {
            case .json: print(try jsonText(devices))
            case .csv:
                print("index,name,type,platform,driver,compute_units,clock_mhz,global_mem_bytes,local_mem_bytes,max_alloc_bytes,max_work_group,fp16,fp64")
                for d in devices {
                    print([String(d.index), d.name, d.type, d.platformName, d.driverVersion, String(d.computeUnits),
                           String(d.maxClockMHz), String(d.globalMemoryBytes), String(d.localMemoryBytes),
                           String(d.maxAllocationBytes), String(d.maxWorkGroupSize), String(d.supportsFP16),
                           String(d.supportsFP64)].map(csvField).joined(separator: ","))
                }
            case .table:
                for d in devices { print(describe(d)) }
                if devices.contains(where: { $0.platformName.lowercased().contains("portable computing language") }) {
                    print(poclPinningLine())
                }
            }
        }
    }

    private func poclPinningLine() -> String {
        if OpenCL.didPinPoclWorkers {
            return "pocl workers    pinned to cores (CLGraph set POCL_AFFINITY=1; set POCL_AFFINITY=0 to opt out)"
        }
        if let value = ProcessInfo.processInfo.environment[PoclWorkerPinning.variable] {
            return "pocl workers    POCL_AFFINITY=\(value) from the environment"
        }
        return "pocl workers    not pinned (a pin could fail here: CPUs outside this process's affinity mask, more pocl workers than CPUs, or one CPU)"
    }

    private func csvField(_ text: String) -> String {
        text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    private func describe(_ d: DeviceInfo) -> String {
        func mib(_ bytes: Int) -> String { bytes >= 1 << 30 ? String(format: "%.1f GiB", Double(bytes) / 1073741824) : "\(bytes >> 10) KiB" }
        let widths = ["char", "short", "int", "long", "float", "double", "half"]
            .map { "\($0) \(d.preferredVectorWidths[$0] ?? 0)/\(d.nativeVectorWidths[$0] ?? 0)" }.joined(separator: ", ")
        return """
            [\(d.index)] \(d.name)
                type            \(d.type)
                vendor          \(d.vendor)
                platform        \(d.platformName) — \(d.platformVersion)
                device version  \(d.deviceVersion)
                driver          \(d.driverVersion)
                OpenCL C        \(d.openCLCVersion)
                compute units   \(d.computeUnits) @ \(d.maxClockMHz) MHz
                global memory   \(mib(d.globalMemoryBytes)) (max allocation \(mib(d.maxAllocationBytes)))
                local memory    \(mib(d.localMemoryBytes)) (\(d.localMemoryType))
                work-group      max \(d.maxWorkGroupSize), item sizes \(d.maxWorkItemSizes)
                vector widths   preferred/native: \(widths)
                fp16 / fp64     \(d.supportsFP16 ? "yes" : "no") / \(d.supportsFP64 ? "yes" : "no")
                extensions      \(d.extensions.count): \(d.extensions.joined(separator: " "))
            """
    }
}

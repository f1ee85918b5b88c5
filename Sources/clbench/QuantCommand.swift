import ArgumentParser
import CLBackend
import CLBenchKit
import CLRuntime
import Foundation

struct Quant: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "q8_0 / q4_0 / f16 weights against f32: y = x·Wᵀ time, GB/s of weight traffic, speedup, quantization error.")

    @OptionGroup var benchmark: BenchmarkOptions

    @Option(help: "Rows of W (N, the outputs).")
    var rows: Int = 4096
    @Option(help: "Columns of W (K, the inputs; a multiple of 32 for the q8_0/q4_0 blocks).")
    var cols: Int = 4096
    @Option(help: "Rows of x (batch sizes), comma-separated; one report each.")
    var batch: String = "1"
    @Option(help: "Quantized kernel variants, comma-separated (default: the automatic one: on CPUs 3, or 1 where the preferred char vector width is 1, and 4 from 256 rows of x with at most 2^20 weights; 2 on GPUs).")
    var variant: String?
    @Option(help: "f16 kernel variants, comma-separated (default: the automatic one: 1 on CPUs, 2 on GPUs; 3 does half-precision products and needs cl_khr_fp16, so a device without it reports it as not offered and skips it).")
    var f16Variant: String?

    @Option(help: "Tuning: weight rows per work-item of the cpu variants (1, 3), comma-separated (each a variant; default: the family's).")
    var rowsPerItem: String?
    @Option(help: "Tuning: rows of x per work-item of the cpu variants (1, 3) when the batch is above 1, comma-separated.")
    var batchTile: String?
    @Option(help: "Tuning: work-items along the rows of W for variant 3 (each walks several row groups), comma-separated.")
    var workItems: String?

    func validate() throws {
        if let rowsPerItem, try !positiveList(rowsPerItem, name: "--rows-per-item").allSatisfy({ $0 <= 16 }) {
            throw ValidationError("--rows-per-item values must be in 1...16")
        }
        if let batchTile, try !positiveList(batchTile, name: "--batch-tile").allSatisfy({ $0 <= 16 }) {
            throw ValidationError("--batch-tile values must be in 1...16")
        }
        if let workItems { _ = try positiveList(workItems, name: "--work-items") }
        guard rows > 0, cols > 0 else { throw ValidationError("--rows and --cols must be positive") }
        guard cols % 32 == 0 else { throw ValidationError("--cols (\(cols)) must be a multiple of 32: q8_0/q4_0 blocks hold 32 values along K") }
        _ = try positiveList(batch, name: "--batch")
        if let variant {
            _ = try variants(variant, name: "--variant", of: QuantMatmulFamily.Variant.self)
        }
        if let f16Variant {
            _ = try variants(f16Variant, name: "--f16-variant", of: HalfMatmulFamily.Variant.self)
        }
    }

    func run() throws {
        try reportingErrors {
            let context = try CLContext(selecting: benchmark.deviceOptions.device)
            let batches = try positiveList(batch, name: "--batch")
            try checkFits(context: context, elements: rows * cols * 2 + batches.max()! * (rows + cols) * 8)
            let harness = try benchmark.makeHarness(context: context)
            let family = QuantMatmulFamily(environment: FamilyEnvironment(context: context))
            let asked = try variant.map { try variants($0, name: "--variant", of: QuantMatmulFamily.Variant.self) }
            let askedHalf = try f16Variant.map { try variants($0, name: "--f16-variant", of: HalfMatmulFamily.Variant.self) }
                ?? [try HalfMatmulFamily.choose(requested: nil, forced: nil, deviceClass: DeviceClass(context.device.info),
                                                device: context.device.info).variant]
            // A variant the device cannot run is named on stderr and left out; the others still run.
            var halfVariants: [HalfMatmulFamily.Variant] = []
            for variant in askedHalf {
                if let refusal = HalfMatmulFamily.unavailability(of: variant, on: context.device.info) {
                    FileHandle.standardError.write(Data("clbench quant: \(refusal)\n".utf8))
                } else { halfVariants.append(variant) }
            }
            var reports: [BenchmarkReport] = []
            for m in batches {
                let variants = asked ?? [family.automaticVariant(m: m, n: rows, k: cols)]
                let cases = try QuantBenchmark.cases(context: context, rows: rows, cols: cols, batch: m, quantVariants: variants,
                                                    halfVariants: halfVariants,
                                                    tuning: QuantBenchmark.Tuning(
                                                        rowsPerItem: try rowsPerItem.map { try positiveList($0, name: "--rows-per-item") } ?? [],
                                                        batchTile: try batchTile.map { try positiveList($0, name: "--batch-tile") } ?? [],
                                                        workItems: try workItems.map { try positiveList($0, name: "--work-items") } ?? []))
                reports.append(BenchmarkReport(
                    benchmark: "quant", device: DeviceSummary(info: context.device.info, peak: harness.peak),
                    params: ["rows": "\(rows)", "cols": "\(cols)", "batch": "\(m)"],
                    results: try harness.measure(cases)))
            }
            try benchmark.emit(reports, extraColumns: ["batch", "weight_bytes"])
        }
    }
}

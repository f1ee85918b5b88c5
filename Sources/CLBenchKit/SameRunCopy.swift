import CLKernels
import CLRuntime
import Foundation

/// A copy of a benchmark's own input with `peak.cl`'s copy kernel, timed in the same interleaved
/// rounds as the variants: the bandwidth ceiling under the machine's load of the moment, for
/// memory-bound benchmarks (`clbench layernorm`, `clbench rowops`) to report against.
public enum SameRunCopy {
    /// The name of the copy row.
    public static let variant = "copy-reference"

    /// The copy of `source` (whose host values are `values`) as a case for ``BenchmarkHarness``,
    /// or nil when the input is too small to hold one 16-float vector.
    static func benchmarkCase(context: CLContext, source: CLBuffer<Float>, values: [Float],
                              extra: [String: Double] = ["rows": 0, "cols": 0]) throws -> BenchmarkCase? {
        let info = context.device.info
        let vectors = values.count / 16
        let workItems = min(vectors, info.isGPU ? info.computeUnits * 4096 : info.computeUnits * 8)
        guard workItems > 0 else { return nil }
        let chunk = vectors / workItems
        let touched = chunk * workItems * 16
        let program = try context.program(family: "peak", source: KernelSources.source(for: "peak")!)
        let kernel = try program.kernel(info.isGPU ? "copy_strided" : "copy_chunked")
        let destination = try CLBuffer<Float>(context: context, count: touched)
        try kernel.setArguments(source, destination, Int32(chunk))
        let local: [Int]? = info.isGPU ? nil : [1]
        let expected = values[0..<touched].map(Double.init)
        return BenchmarkCase(
            variant: variant, description: "peak.cl copy of the input (read + write bytes): the same-run bandwidth ceiling",
            flops: 0, bytes: 8 * Double(touched), roofline: .memory, extra: extra,
            enqueue: { [try withExtendedLifetime((source, destination)) { try context.enqueue(kernel, global: [workItems], local: local, event: true) }] },
            validate: { ValidationOutcome(reference: expected, actual: try destination.download(), bound: 0) })
    }

    /// Adds `percent_of_copy_bw`: GB/s against the measured copy bandwidth of `clbench peak`
    /// (`percent_of_peak` uses the best of copy, read and write), and `percent_of_same_run_copy`:
    /// against the copy row timed in the same rounds (robust to the machine's load).
    ///
    /// The copy row itself leaves `results` (it is no variant of the benchmark): its rate goes to
    /// `params["same_run_copy_gbps"]`.
    public static func annotate(_ results: [BenchmarkResult], peak: DevicePeak, params: inout [String: String]) -> [BenchmarkResult] {
        params["copy_gbps"] = String(format: "%.2f", peak.copyGBps)
        let copy = results.first(where: { $0.variant == variant && $0.valid && $0.gbps > 0 })
        if let copy { params["same_run_copy_gbps"] = String(format: "%.2f", copy.gbps) }
        return results.filter { $0.variant != variant || !$0.valid }.map { result in
            var result = result
            result.extra["percent_of_copy_bw"] = 100 * result.gbps / max(peak.copyGBps, 1e-9)
            if let copy { result.extra["percent_of_same_run_copy"] = 100 * result.gbps / copy.gbps }
            return result
        }
    }
}

import CLKernels
import CLRuntime
import Foundation

/// A device's measured peak fp32 rate and memory bandwidth: the denominators of every
/// "% of peak" that `clbench` reports. Measured by `PeakProbe`, cached per device.
public struct DevicePeak: Codable, Sendable, Equatable {
    public var device: String
    public var driver: String
    /// Best fp32 rate over the timed runs (independent fma chains on float16), GFLOP/s.
    public var fp32GFLOPS: Double
    public var fp32MedianGFLOPS: Double
    /// Copy bandwidth counting bytes read plus bytes written, GB/s (10^9 bytes).
    public var copyGBps: Double
    public var readGBps: Double
    public var writeGBps: Double
    /// The buffer size the bandwidth was measured on, bytes.
    public var bandwidthBufferBytes: Int
    /// Which memory layout won: "chunked" (contiguous per work-item) or "strided" (coalesced).
    public var bestLayout: String
    public var measuredAt: Date

    public init(device: String, driver: String, fp32GFLOPS: Double, fp32MedianGFLOPS: Double, copyGBps: Double,
                readGBps: Double, writeGBps: Double, bandwidthBufferBytes: Int, bestLayout: String, measuredAt: Date) {
        self.device = device
        self.driver = driver
        self.fp32GFLOPS = fp32GFLOPS
        self.fp32MedianGFLOPS = fp32MedianGFLOPS
        self.copyGBps = copyGBps
        self.readGBps = readGBps
        self.writeGBps = writeGBps
        self.bandwidthBufferBytes = bandwidthBufferBytes
        self.bestLayout = bestLayout
        self.measuredAt = measuredAt
    }

    /// Each figure the better of `self` and `other` (same device); the date of `other` when it gave every figure.
    public func bestOf(_ other: DevicePeak) -> DevicePeak {
        guard other.device == device, other.driver == driver else { return self }
        var best = self
        best.fp32GFLOPS = max(fp32GFLOPS, other.fp32GFLOPS)
        best.fp32MedianGFLOPS = max(fp32MedianGFLOPS, other.fp32MedianGFLOPS)
        best.readGBps = max(readGBps, other.readGBps)
        best.writeGBps = max(writeGBps, other.writeGBps)
        if other.copyGBps > copyGBps {
            // The buffer size and layout describe the copy figure.
            (best.copyGBps, best.bandwidthBufferBytes, best.bestLayout) = (other.copyGBps, other.bandwidthBufferBytes, other.bestLayout)
        }
        best.measuredAt = best == other ? other.measuredAt : measuredAt
        return best
    }

    /// The best of the three bandwidth figures: the denominator for "% of bandwidth".
    public var bandwidthGBps: Double { max(copyGBps, readGBps, writeGBps) }

    /// The figures "% of peak" is computed against, by name: the fp32 rate, the copy bandwidth
    /// (layernorm's `percent_of_copy_bw`) and the best bandwidth.
    public var denominators: [(name: String, value: Double, unit: String)] {
        [("fp32 rate", fp32GFLOPS, "GFLOP/s"), ("copy bandwidth", copyGBps, "GB/s"), ("bandwidth", bandwidthGBps, "GB/s")]
    }

    /// Whether every figure of `denominators` of `self` and `other` is within `tolerance` (a
    /// fraction of the larger) of the other's: two measurements of an undisturbed device agree.
    public func agrees(with other: DevicePeak, tolerance: Double) -> Bool {
        zip(denominators, other.denominators).allSatisfy { mine, theirs in
            let larger = max(mine.value, theirs.value)
            return larger > 0 && abs(mine.value - theirs.value) <= tolerance * larger
        }
    }
}

/// Measures `DevicePeak` with the kernels of `CLKernels/peak.cl`.
public struct PeakProbe {
    public let context: CLContext
    public var timedRuns = 10
    public var warmupRuns = 2
    /// Called with a short status line as each probe starts.
    public var progress: (String) -> Void = { _ in }

    public init(context: CLContext) { self.context = context }

    public func measure() throws -> DevicePeak {
        let info = context.device.info
        let program = try context.program(family: "peak", source: KernelSources.source(for: "peak")!)
        progress("fp32 fma rate")
        let (bestFlops, medianFlops) = try measureFMA(program)
        let bufferBytes = bandwidthBufferBytes(info)
        var best: (copy: Double, read: Double, write: Double, layout: String) = (0, 0, 0, "")
        for layout in ["chunked", "strided"] {
            progress("\(layout) bandwidth on \(bufferBytes >> 20) MiB")
            let rates = try measureBandwidth(program, layout: layout, bufferBytes: bufferBytes)
            if rates.copy > best.copy { best = (rates.copy, rates.read, rates.write, layout) }
        }
        return DevicePeak(
            device: info.name, driver: info.driverVersion, fp32GFLOPS: bestFlops, fp32MedianGFLOPS: medianFlops,
            copyGBps: best.copy, readGBps: best.read, writeGBps: best.write, bandwidthBufferBytes: bufferBytes,
            bestLayout: best.layout, measuredAt: Date())
    }

    /// pocl runs one work-group per thread: on CPUs launch many single-item groups so every
    /// core gets work (a single group of 32 items runs on one core: about half the rate).
    private var cpuLocal: [Int]? { context.device.info.isGPU ? nil : [1] }

    /// Work-items enough to fill every core (CPU) or every SIMD lane with latency hiding (GPU).
    private func fmaWorkItems(_ info: DeviceInfo) -> Int {
        info.isGPU ? info.computeUnits * 2048 : info.computeUnits * 16
    }

    private func bandwidthBufferBytes(_ info: DeviceInfo) -> Int {
        // Far beyond any cache, within allocation limits: 256 MiB, or less on small devices.
        let limit = min(info.maxAllocationBytes / 2, info.globalMemoryBytes / 8)
        var bytes = 256 << 20
        while bytes > limit && bytes > (16 << 20) { bytes /= 2 }
        return bytes
    }

    /// Times `launch` `timedRuns` times after warm-up; returns kernel times in seconds.
    private func time(_ launch: () throws -> CLEvent?) throws -> [Double] {
        for _ in 0..<warmupRuns { _ = try launch() }
        try context.finish()
        var seconds: [Double] = []
        for _ in 0..<timedRuns {
            guard let event = try launch() else { continue }
            seconds.append(Double(try event.profilingTimes().durationNanoseconds) / 1e9)
        }
        return seconds.sorted()
    }

    private func measureFMA(_ program: CLProgram) throws -> (best: Double, median: Double) {
        let info = context.device.info
        let workItems = fmaWorkItems(info)
        let kernel = try program.kernel("peak_fma")
        let output = try CLBuffer<Float>(context: context, count: workItems)
        // Calibrate the chain length so one launch takes ~50 ms.
        var iterations: Int32 = 1024
        while true {
            try kernel.setArguments(output, Float(1), iterations)
            let seconds = try time { try context.enqueue(kernel, global: [workItems], local: cpuLocal, event: true) }
            if seconds[0] > 0.05 || iterations >= 1 << 24 {
                let flops = Double(workItems) * Double(iterations) * 8 * 16 * 2
                return (flops / seconds[0] / 1e9, flops / seconds[seconds.count / 2] / 1e9)
            }
            iterations *= seconds[0] < 0.005 ? 8 : 2
        }
    }

    private func measureBandwidth(_ program: CLProgram, layout: String, bufferBytes: Int)
        throws -> (copy: Double, read: Double, write: Double)
    {
        let info = context.device.info
        let vectors = bufferBytes / 64  // float16 elements
        let workItems = info.isGPU ? min(vectors, info.computeUnits * 4096) : info.computeUnits * 8
        let chunk = Int32(vectors / workItems)
        let touchedBytes = Double(Int(chunk) * workItems * 64)
        let source = try CLBuffer<Float>(context: context, count: vectors * 16)
        let destination = try CLBuffer<Float>(context: context, count: vectors * 16)
        let sums = try CLBuffer<Float>(context: context, count: workItems)
        try source.fill(1)
        try destination.fill(0)

        let copy = try program.kernel("copy_\(layout)")
        try copy.setArguments(source, destination, chunk)
        let read = try program.kernel("read_\(layout)")
        try read.setArguments(source, sums, chunk)
        let write = try program.kernel("write_\(layout)")
        try write.setArguments(destination, Float(2), chunk)

        let copySeconds = try time { try context.enqueue(copy, global: [workItems], local: cpuLocal, event: true) }
        let readSeconds = try time { try context.enqueue(read, global: [workItems], local: cpuLocal, event: true) }
        let writeSeconds = try time { try context.enqueue(write, global: [workItems], local: cpuLocal, event: true) }
        return (2 * touchedBytes / copySeconds[0] / 1e9, touchedBytes / readSeconds[0] / 1e9,
                touchedBytes / writeSeconds[0] / 1e9)
    }
}

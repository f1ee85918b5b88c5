import CLRuntime
import Foundation

/// What the runtime itself costs on a device: program builds (cold, warm, from the binary
/// cache) and kernel launch overhead (one launch + finish, and launches batched before one finish).
public struct RuntimeCosts: Codable, Sendable {
    public var device: String
    /// A never-seen source: the driver compiles from scratch.
    public var coldBuildMs: Double
    /// The same source again in a new program object: the driver's own cache (pocl keeps one) may help.
    public var warmBuildMs: Double
    /// A build that also asks the driver for the binary and writes it to the cache (the cost of a cache miss).
    public var storeBuildMs: Double
    /// Building from a binary stored by `ProgramCache` (clCreateProgramWithBinary + clBuildProgram).
    public var binaryCacheBuildMs: Double
    /// Build plus the first launch and finish of a kernel of the program (pocl compiles the
    /// kernel for its work size at first launch, so this is what a user waits for).
    public var coldFirstResultMs: Double
    public var warmFirstResultMs: Double
    public var binaryCacheFirstResultMs: Double
    /// Bytes of the stored binary.
    public var binaryBytes: Int
    /// Host time per launch when each launch waits for completion (enqueue + finish).
    public var singleLaunchMicroseconds: Double
    /// Host time per launch when `batch` launches are enqueued before one finish.
    public var batchedLaunchMicroseconds: Double
    public var batch: Int
}

public enum RuntimeCostProbe {
    /// A kernel source with some real code, made unique by `tag` so the driver cannot have seen it.
    static func source(tag: String) -> String {
        """
        __constant ulong probe_tag = \(tag)UL;  // differs per probe, so no driver cache has seen this code
        __kernel void tagged(__global ulong *out) { out[0] = probe_tag; }
        __kernel void saxpy(__global const float *x, __global float *y, const float a, const int n) {
            const int i = get_global_id(0);
            if (i < n) y[i] = fma(a, x[i], y[i]);
        }
        __kernel void softplus(__global float *y, const int n) {
            const int i = get_global_id(0);
            if (i < n) y[i] = log1p(exp(y[i]));
        }
        """
    }

    private static func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    /// Builds `source` in `context` and launches one of its kernels; times both.
    private static func buildAndFirstLaunch(_ context: CLContext, source: String)
        throws -> (build: Double, firstResult: Double, origin: CLProgram.Origin)
    {
        var program: CLProgram!
        let build = try milliseconds { program = try context.program(family: "probe", source: source) }
        let buffer = try CLBuffer<Float>(context: context, count: 64)
        try buffer.fill(0)
        try context.finish()
        let launch = try milliseconds {
            let kernel = try program.kernel("softplus")
            try kernel.setArguments(buffer, Int32(64))
            try context.enqueue(kernel, global: [64])
            try context.finish()
        }
        return (build, build + launch, program.origin)
    }

    public static func measure(device: Device, launches: Int = 1000) throws -> RuntimeCosts {
        let tag = String(UInt64.random(in: 0..<UInt64.max / 2))
        let source = source(tag: tag)
        let uncached = try CLContext(device: device, programCache: nil)
        let cold = try buildAndFirstLaunch(uncached, source: source)
        uncached.dropBuiltPrograms()
        let warm = try buildAndFirstLaunch(uncached, source: source)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-probe-\(tag)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = ProgramCache(directory: directory, policy: .always)
        let cached = try CLContext(device: device, programCache: cache)
        let stored = try buildAndFirstLaunch(cached, source: source)  // builds from source, stores the binary
        guard stored.origin == .source else {
            throw CLError.sizeMismatch(operation: "runtime probe", detail: "a fresh binary cache already held the program")
        }
        cached.dropBuiltPrograms()
        let fromBinary = try buildAndFirstLaunch(cached, source: source)
        let binaryBytes = (try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.fileSizeKey]))?
            .compactMap { try? $0.resourceValues(forKeys: [.fileSizeKey]).fileSize }.reduce(0, +) ?? 0
        guard fromBinary.origin == .cachedBinary else {
            throw CLError.sizeMismatch(operation: "runtime probe", detail: "the program was not loaded from the binary cache")
        }

        let n = 1024
        let x = try CLBuffer<Float>(context: uncached, values: [Float](repeating: 1, count: n))
        let y = try CLBuffer<Float>(context: uncached, values: [Float](repeating: 0, count: n))
        let kernel = try uncached.program(family: "probe", source: source).kernel("saxpy")
        try kernel.setArguments(x, y, Float(0.5), Int32(n))
        for _ in 0..<20 { try uncached.enqueue(kernel, global: [n]) }  // warm-up: first launch compiles per work size
        try uncached.finish()
        let single = try milliseconds {
            for _ in 0..<launches {
                try uncached.enqueue(kernel, global: [n])
                try uncached.finish()
            }
        }
        let batched = try milliseconds {
            for _ in 0..<launches { try uncached.enqueue(kernel, global: [n]) }
            try uncached.finish()
        }
        let singleMicroseconds = single * 1000 / Double(launches)
        let batchedMicroseconds = batched * 1000 / Double(launches)
        return RuntimeCosts(
            device: device.info.name, coldBuildMs: cold.build, warmBuildMs: warm.build, storeBuildMs: stored.build,
            binaryCacheBuildMs: fromBinary.build,
            coldFirstResultMs: cold.firstResult, warmFirstResultMs: warm.firstResult,
            binaryCacheFirstResultMs: fromBinary.firstResult, binaryBytes: binaryBytes,
            singleLaunchMicroseconds: singleMicroseconds, batchedLaunchMicroseconds: batchedMicroseconds, batch: launches)
    }
}

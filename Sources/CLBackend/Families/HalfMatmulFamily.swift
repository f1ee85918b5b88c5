import CLRuntime
import TensorGraph

/// Matrix products with half-precision (`f16`) weights: the kernels of `CLKernels/f16.cl`.
///
/// The weights stay on the device as the host stores them (IEEE binary16, row-major `[N, K]`, any
/// K), half the bytes of f32. What the device's `cl_khr_fp16` decides: converting stored halves to
/// float (`vload_half`) is core OpenCL, so the storage format runs on every device with f32
/// arithmetic (variants 1 and 2: the f32 product of the half-rounded weights). Only variant 3 does
/// arithmetic in half and needs the extension; asked for explicitly on a device without it, it is
/// refused with ``CLError/notOffered(what:requires:device:alternative:)``; forced plan-wide (a
/// conformance pass), the f32 variant runs instead and its step says so.
public final class HalfMatmulFamily {
    public static let family = "f16"
    /// The family's variants (the header of `CLKernels/f16.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case cpu = 1
        case gpu = 2
        case halfProducts = 3

        public static let family = HalfMatmulFamily.family
        public var summary: String {
            switch self {
            case .cpu: return "cpu: ROWS weight rows × BT rows of x per work-item, 16 halves → float16 per load (vcvtph2ps on AVX-512F, else vload_half16), f32 fma, local size [1] (pocl/CPU)"
            case .gpu: return "gpu: a work-group per output, items stride over K (vload_half, f32 fma), local-memory tree reduction (GPU)"
            case .halfProducts: return "half products: variant 2 with x rounded to half and w·x multiplied as half8, each product added in f32 (needs cl_khr_fp16; GPUs with fast half arithmetic)"
            }
        }
    }
    /// The variants that do arithmetic in half and so need `cl_khr_fp16`.
    public static let halfArithmeticVariants: Set<Variant> = [.halfProducts]

    /// Variant 3's error against the f32 product with the same half weights (NMSE): x and every
    /// product are rounded to half (relative error ≤ 2⁻¹¹ each, so ≤ ~2⁻¹⁰ per term and NMSE ≤ ~1e-6
    /// even for a single term); 1e-5 leaves room for sums that cancel. Inputs whose products exceed
    /// 65504 overflow to ±inf there and are outside this bound.
    public static let halfProductBound = 1e-5

    public let environment: FamilyEnvironment
    /// Variant 1: weight rows per work-item; `nil`: 8 for GEMV (M below `batchTileMinRows`), 4 for
    /// batched products: the fastest in `clbench quant --f16-variant 1 --rows-per-item 1,2,4,8
    /// --batch-tile 4,8` at 4096² on a 2-core AVX-512 EPYC, pocl and Intel's CPU runtime
    /// (Benchmarks/results/pocl-3.1-amd-epyc-2cu/quant/README.md).
    public var rowsPerItem: Int?
    /// Variant 1: rows of x per work-item once M reaches `batchTileMinRows` (each converted weight
    /// vector then feeds `batchTile` dot products); `nil`: 8 where the device's native float
    /// vector width is at least 16 (AVX-512: 32 vector registers), else 4.
    public var batchTile: Int?
    public var batchTileMinRows = 2
    /// Variants 2 and 3: work-group size.
    public var gpuGroupSize = 64

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// Why `variant` cannot run on `device`, or `nil` when it can: the half-arithmetic variants
    /// need `cl_khr_fp16` (``DeviceInfo/supportsFP16``).
    public static func unavailability(of variant: Variant, on device: DeviceInfo) -> CLError? {
        guard halfArithmeticVariants.contains(variant), !device.supportsFP16 else { return nil }
        return .notOffered(what: "\(variant.name) (half-precision products)", requires: "the cl_khr_fp16 extension",
                           device: device.name,
                           alternative: "f16 weights still run there with f32 arithmetic (variant 1 on CPUs, 2 on GPUs)")
    }

    /// The variant that runs: `requested` when given (refused when the device lacks what it needs),
    /// else the plan's forced variant when the device offers it, else 1 on CPUs and 2 on GPUs. The
    /// note says when a forced variant was not offered and the f32 one ran instead.
    /// - Throws: ``CLError/notOffered(what:requires:device:alternative:)`` for an explicit request
    ///   the device cannot run.
    public static func choose(requested: Variant?, forced: Variant?, deviceClass: DeviceClass, device: DeviceInfo)
        throws -> (variant: Variant, note: String?) {
        let automatic: Variant = deviceClass == .cpu ? .cpu : .gpu
        if let requested {
            if let refusal = unavailability(of: requested, on: device) { throw refusal }
            return (requested, nil)
        }
        if let forced {
            guard unavailability(of: forced, on: device) != nil else { return (forced, nil) }
            return (automatic, "\(forced.name) not offered by this device (no cl_khr_fp16)")
        }
        return (automatic, nil)
    }

    /// Bytes of `elements` half weights on the device.
    public static func deviceByteCount(elements: Int) -> Int { elements * 2 }

    /// y[M, N] = x[M, K] · Wᵀ (+ bias), W [N, K] as little-endian halves.
    /// - Throws: `CLError.sizeMismatch` naming the operand when a size is not positive or a buffer
    ///   is too small; ``CLError/notOffered(what:requires:device:alternative:)`` when `variant` needs
    ///   `cl_khr_fp16` and the device lacks it.
    public func encode(x: CLBuffer<Float>, weights: CLBuffer<UInt8>, y: CLBuffer<Float>, bias: CLBuffer<Float>? = nil,
                       m: Int, n: Int, k: Int, variant: Variant? = nil) throws -> [LaunchStep] {
        let what = "f16 matmul [\(m), \(k)]xf16 [\(n), \(k)]ᵀ"
        guard m > 0, n > 0, k > 0 else {
            throw CLError.sizeMismatch(operation: what, detail: "M, N, K must be positive")
        }
        guard m * k <= Int(Int32.max), n * k <= Int(Int32.max), m * n <= Int(Int32.max) else {
            throw CLError.sizeMismatch(operation: what, detail: "a matrix over 2^31 elements")
        }
        func check(_ name: String, _ have: Int, _ need: Int) throws {
            guard have >= need else { throw CLError.sizeMismatch(operation: what, detail: "\(name) holds \(have), needs \(need)") }
        }
        try check("x (elements)", x.count, m * k)
        try check("W (bytes)", weights.count, Self.deviceByteCount(elements: n * k))
        try check("y (elements)", y.count, m * n)
        if let bias { try check("bias (elements)", bias.count, n) }
        let device = environment.context.device.info
        let (chosen, note) = try Self.choose(requested: variant, forced: environment.options.forcedVariants[Variant.self],
                                             deviceClass: environment.deviceClass, device: device)
        let suffix = note.map { "; \($0)" } ?? ""
        let weightBytes = Double(Self.deviceByteCount(elements: n * k))
        let bytes = weightBytes + 4 * Double(m * k + m * n + (bias == nil ? 0 : n))
        let flops = 2 * Double(m) * Double(n) * Double(k)
        let arguments: [any KernelArgumentConvertible] = [x, weights, bias ?? y, Int32(bias == nil ? 0 : 1), y,
                                                         Int32(m), Int32(n), Int32(k)]
        switch chosen {
        case .cpu:
            let wide = (device.nativeVectorWidths["float"] ?? 0) >= 16
            let batched = m >= batchTileMinRows
            let tile = batched ? batchTile ?? (wide ? 8 : 4) : 1, rows = rowsPerItem ?? (batched ? 4 : 8)
            let program = try environment.program(Self.family, defines: ["ROWS": "\(rows)", "BT": "\(tile)"])
            let kernel = try program.kernel("hmatmul_cpu")
            try kernel.setArguments(arguments)
            return [LaunchStep(kernel: kernel, global: [(n + rows - 1) / rows, (m + tile - 1) / tile], local: [1, 1],
                               variant: "\(chosen.name) (cpu, \(rows) rows × \(tile)\(suffix))", label: what,
                               flops: flops, bytes: bytes)]
        case .gpu, .halfProducts:
            let group = min(gpuGroupSize, device.maxWorkGroupSize)
            let half = chosen == .halfProducts
            let program = try environment.program(Self.family, defines: ["WG": "\(group)"].merging(half ? ["F16_ARITH": "1"] : [:]) { a, _ in a })
            let kernel = try program.kernel(half ? "hmatmul_half" : "hmatmul_gpu")
            try kernel.setArguments(arguments)
            return [LaunchStep(kernel: kernel, global: [n * group, m], local: [group, 1],
                               variant: half ? "\(chosen.name) (half products, work-group per output)" : "\(chosen.name) (gpu, work-group per output\(suffix))",
                               label: what, flops: flops, bytes: bytes)]
        }
    }
}

import CLRuntime

/// Layer normalisation and RMS normalisation along rows (family "layernorm", `CLKernels/layernorm.cl`).
///
/// Variants 1–4 select the layernorm kernel; rmsnorm has no mean to compute, so 1 and 2 run
/// `rmsnorm_cpu` and 3 and 4 run `rmsnorm_wg`. `input` and `output` may be the same buffer.
/// Variants 5–12 belong to separate entry points: one-pass layernorm (5 CPU, 6 GPU) and
/// layernorm fused with the residual add (7, 8), which plans do not use, the "proportions" norm
/// (9, 10; the lowering of `proportionsNorm`) and its residual-fused form (11, 12).
public final class NormFamily {
    public static let family = "layernorm"
    /// The family's variants (the header of `CLKernels/layernorm.cl` documents each). 1–4 run
    /// layernorm and rmsnorm; each extra entry point runs its own pair (odd CPU, even GPU).
    public enum Variant: Int, KernelVariant {
        case cpuTwoPass = 1
        case cpuWelford = 2
        case gpuTwoPass = 3
        case gpuWelford = 4
        case cpuOnePass = 5
        case gpuOnePass = 6
        case cpuResidual = 7
        case gpuResidual = 8
        case cpuProportions = 9
        case gpuProportions = 10
        case cpuResidualProportions = 11
        case gpuResidualProportions = 12

        public static let family = NormFamily.family
        /// Layernorm and rmsnorm (1–4) and the proportions norm (9, 10): what plans run.
        public static let planVariants: [Variant] = [.cpuTwoPass, .cpuWelford, .gpuTwoPass, .gpuWelford, .cpuProportions, .gpuProportions]
        public var summary: String {
            switch self {
            case .cpuTwoPass: return "cpu two-pass: work-item per chunk of rows, float16, mean then centred variance (rmsnorm: sum of squares)"
            case .cpuWelford: return "cpu welford: work-item per chunk of rows, 16-lane Welford merged by Chan (rmsnorm: as 1)"
            case .gpuTwoPass: return "gpu two-pass: work-group per row, two local-memory tree sums (rmsnorm: one tree sum)"
            case .gpuWelford: return "gpu welford: work-group per row, per-item Welford, tree of Chan merges (rmsnorm: as 3)"
            case .cpuOnePass: return "cpu one-pass: float16 sum and sum of squares in one pass, var = E[x²]−E[x]² (cancels when |mean| ≫ std)"
            case .gpuOnePass: return "gpu one-pass: work-group per row, E[x²]−E[x]² from two tree sums (cancels when |mean| ≫ std)"
            case .cpuResidual: return "cpu residual-fused: s = x + r (optionally stored), then two-pass layernorm of s, rows in cache"
            case .gpuResidual: return "gpu residual-fused: work-group per row, s = x + r, two tree sums"
            case .cpuProportions: return "cpu proportions: float16 mean |x|, then y = g·c·tanh(x/(mean|x|+eps)/c) (+ shift)"
            case .gpuProportions: return "gpu proportions: work-group per row, one tree sum of |x|, then the tanh write"
            case .cpuResidualProportions: return "cpu residual-fused proportions: s = x + r (optionally stored), then the proportions norm of s"
            case .gpuResidualProportions: return "gpu residual-fused proportions: work-group per row, s = x + r, one tree sum of |s|"
            }
        }
    }

    public let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// Outputs at least this large (bytes) are written with non-temporal stores on CPU devices:
    /// far beyond the caches, the store then skips the read-for-ownership of each line (one DRAM
    /// read and one write per element, like a copy; faster at 4096×4096 on pocl:
    /// Benchmarks/results/pocl-3.1-amd-epyc-2cu/layernorm/README.md). Smaller outputs keep plain stores so the next op finds them
    /// in cache.
    public static let defaultStreamingStoreBytes = 8 << 20

    /// The streaming-store threshold of this instance (tests lower it to exercise that path on small shapes).
    public var streamingStoreBytes = NormFamily.defaultStreamingStoreBytes

    /// `-D` definitions for an output of `elements` floats (empty below the streaming threshold,
    /// so small sizes share one program).
    func storeDefines(outputElements elements: Int) -> [String: String] {
        environment.deviceClass == .cpu && elements * 4 >= streamingStoreBytes ? ["STREAM_STORES": "1"] : [:]
    }

    private func prepare(input: CLBuffer<Float>, output: CLBuffer<Float>, params: [(String, CLBuffer<Float>)],
                         rows: Int, cols: Int, eps: Float, variant: Variant?, entryPoint: String) throws -> Variant {
        let family = Self.family
        try RowOps.checkSizes(family, [("rows", rows), ("cols", cols), ("rows*cols", rows * cols)])
        guard eps >= 0, eps.isFinite else {
            throw RowOpsError.invalidShape(family: family, detail: "eps \(eps) must be finite and >= 0")
        }
        try RowOps.checkBuffer(family, "input", input, rows * cols)
        try RowOps.checkBuffer(family, "output", output, rows * cols)
        for (name, buffer) in params { try RowOps.checkBuffer(family, name, buffer, cols) }
        return try environment.variant(variant, cpu: .cpuTwoPass, gpu: .gpuTwoPass, runs: Variant.planVariants, entryPoint: entryPoint)
    }

    /// y = (x − mean)/sqrt(var + eps)·gain + bias over each row (biased variance).
    public func encodeLayerNorm(input: CLBuffer<Float>, gain: CLBuffer<Float>, bias: CLBuffer<Float>, output: CLBuffer<Float>,
                                rows: Int, cols: Int, eps: Float, variant: Variant? = nil) throws -> [LaunchStep] {
        let chosen = try prepare(input: input, output: output, params: [("gain", gain), ("bias", bias)],
                                 rows: rows, cols: cols, eps: eps, variant: variant, entryPoint: "layernorm")
        if rows == 0 || cols == 0 { return [] }
        let program = try environment.program(Self.family, defines: storeDefines(outputElements: rows * cols),
                                              extraOptions: RowOps.buildOptions)
        let elements = Double(rows) * Double(cols)
        // sum (1) + centred square (3) + normalise and affine (4)
        let flops = 8 * elements
        let bytes = 8 * elements + 8 * Double(cols)
        let label = "layernorm [\(rows), \(cols)] eps \(eps)"
        let common: [any KernelArgumentConvertible] = [input, gain, bias, output, Int32(rows), Int32(cols), eps]
        switch chosen {
        case .cpuTwoPass, .cpuWelford:
            let kernel = try program.kernel(chosen == .cpuTwoPass ? "layernorm_twopass_cpu" : "layernorm_welford_cpu")
            let perItem = RowOps.cpuRowsPerItem(rows: rows, cols: cols, computeUnits: environment.context.device.info.computeUnits)
            try kernel.setArguments(common + [Int32(perItem)])
            return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(rows, perItem)], local: environment.cpuFriendlyLocal,
                               variant: chosen.label, label: label, flops: flops, bytes: bytes)]
        case .gpuTwoPass:
            let kernel = try program.kernel("layernorm_twopass_wg")
            let group = RowOps.groupSize(for: kernel, cols: cols)
            try kernel.setArguments(common + [KernelArgument.localBytes(group * 4)])
            return [LaunchStep(kernel: kernel, global: [rows * group], local: [group],
                               variant: chosen.label, label: label, flops: flops, bytes: bytes)]
        default:
            let kernel = try program.kernel("layernorm_welford_wg")
            let group = RowOps.groupSize(for: kernel, cols: cols)
            let local = KernelArgument.localBytes(group * 4)
            try kernel.setArguments(common + [local, local, local])
            return [LaunchStep(kernel: kernel, global: [rows * group], local: [group],
                               variant: chosen.label, label: label, flops: flops, bytes: bytes)]
        }
    }

    /// y = x·rsqrt(mean(x²) + eps)·gain
    public func encodeRMSNorm(input: CLBuffer<Float>, gain: CLBuffer<Float>, output: CLBuffer<Float>,
                              rows: Int, cols: Int, eps: Float, variant: Variant? = nil) throws -> [LaunchStep] {
        let chosen = try prepare(input: input, output: output, params: [("gain", gain)],
                                 rows: rows, cols: cols, eps: eps, variant: variant, entryPoint: "rmsnorm")
        if rows == 0 || cols == 0 { return [] }
        let program = try environment.program(Self.family, defines: storeDefines(outputElements: rows * cols),
                                              extraOptions: RowOps.buildOptions)
        let elements = Double(rows) * Double(cols)
        // square-accumulate (2) + two multiplies (2)
        let flops = 4 * elements
        let bytes = 8 * elements + 4 * Double(cols)
        let label = "rmsnorm [\(rows), \(cols)] eps \(eps)"
        let common: [any KernelArgumentConvertible] = [input, gain, output, Int32(rows), Int32(cols), eps]
        if chosen == .cpuTwoPass || chosen == .cpuWelford {
            let kernel = try program.kernel("rmsnorm_cpu")
            let perItem = RowOps.cpuRowsPerItem(rows: rows, cols: cols, computeUnits: environment.context.device.info.computeUnits)
            try kernel.setArguments(common + [Int32(perItem)])
            return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(rows, perItem)], local: environment.cpuFriendlyLocal,
                               variant: chosen.label, label: label, flops: flops, bytes: bytes)]
        }
        let kernel = try program.kernel("rmsnorm_wg")
        let group = RowOps.groupSize(for: kernel, cols: cols)
        try kernel.setArguments(common + [KernelArgument.localBytes(group * 4)])
        return [LaunchStep(kernel: kernel, global: [rows * group], local: [group],
                           variant: chosen.label, label: label, flops: flops, bytes: bytes)]
    }

    // MARK: - Extra entry points (variants 5–10)

    private func checkCommon(rows: Int, cols: Int, eps: Float, buffers: [(String, CLBuffer<Float>, Int)]) throws {
        let family = Self.family
        try RowOps.checkSizes(family, [("rows", rows), ("cols", cols), ("rows*cols", rows * cols)])
        guard eps >= 0, eps.isFinite else {
            throw RowOpsError.invalidShape(family: family, detail: "eps \(eps) must be finite and >= 0")
        }
        for (name, buffer, needed) in buffers { try RowOps.checkBuffer(family, name, buffer, needed) }
    }

    private func rowStep(_ program: CLProgram, cpuKernel: String, gpuKernel: String, cpu: Bool,
                         arguments: [any KernelArgumentConvertible], rows: Int, cols: Int, variant: Variant,
                         label: String, flops: Double, bytes: Double) throws -> LaunchStep {
        if cpu {
            let kernel = try program.kernel(cpuKernel)
            let perItem = RowOps.cpuRowsPerItem(rows: rows, cols: cols, computeUnits: environment.context.device.info.computeUnits)
            try kernel.setArguments(arguments + [Int32(perItem)])
            return LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(rows, perItem)], local: environment.cpuFriendlyLocal,
                              variant: variant.label, label: label, flops: flops, bytes: bytes)
        }
        let kernel = try program.kernel(gpuKernel)
        let group = RowOps.groupSize(for: kernel, cols: cols)
        try kernel.setArguments(arguments + [KernelArgument.localBytes(group * 4)])
        return LaunchStep(kernel: kernel, global: [rows * group], local: [group],
                          variant: variant.label, label: label, flops: flops, bytes: bytes)
    }

    /// Layernorm with the one-pass variance E[x²]−E[x]² (variants 5 CPU, 6 GPU).
    ///
    /// Same result as ``encodeLayerNorm(input:gain:bias:output:rows:cols:eps:variant:)`` on centred
    /// data, but it loses every digit of the variance when a row's mean is large against its spread
    /// (1e4 + N(0,1) in float32); it exists to measure that trade, not for models.
    public func encodeLayerNormOnePass(input: CLBuffer<Float>, gain: CLBuffer<Float>, bias: CLBuffer<Float>,
                                       output: CLBuffer<Float>, rows: Int, cols: Int, eps: Float,
                                       variant: Variant? = nil) throws -> [LaunchStep] {
        try checkCommon(rows: rows, cols: cols, eps: eps,
                        buffers: [("input", input, rows * cols), ("output", output, rows * cols), ("gain", gain, cols), ("bias", bias, cols)])
        let chosen = try environment.variant(variant, cpu: .cpuOnePass, gpu: .gpuOnePass, runs: [.cpuOnePass, .gpuOnePass], entryPoint: "one-pass layernorm")
        if rows == 0 || cols == 0 { return [] }
        let program = try environment.program(Self.family, defines: storeDefines(outputElements: rows * cols),
                                              extraOptions: RowOps.buildOptions)
        let elements = Double(rows) * Double(cols)
        // sum + square-accumulate (3) + normalise and affine (4)
        return [try rowStep(program, cpuKernel: "layernorm_onepass_cpu", gpuKernel: "layernorm_onepass_wg", cpu: chosen == .cpuOnePass,
                            arguments: [input, gain, bias, output, Int32(rows), Int32(cols), eps], rows: rows, cols: cols,
                            variant: chosen, label: "layernorm one-pass [\(rows), \(cols)] eps \(eps)",
                            flops: 7 * elements, bytes: 8 * elements + 8 * Double(cols))]
    }

    /// y = layernorm(x + residual) and, when `sum` is given, sum = x + residual (variants 7 CPU, 8 GPU).
    ///
    /// One launch replaces the elementwise add and the layernorm of a pre-norm transformer block;
    /// `sum` (the next residual stream) may be the same buffer as `input` or `residual`, and
    /// `output` may alias either input.
    public func encodeResidualLayerNorm(input: CLBuffer<Float>, residual: CLBuffer<Float>, gain: CLBuffer<Float>,
                                        bias: CLBuffer<Float>, output: CLBuffer<Float>, sum: CLBuffer<Float>? = nil,
                                        rows: Int, cols: Int, eps: Float, variant: Variant? = nil) throws -> [LaunchStep] {
        var buffers: [(String, CLBuffer<Float>, Int)] = [("input", input, rows * cols), ("residual", residual, rows * cols),
                                                         ("output", output, rows * cols), ("gain", gain, cols), ("bias", bias, cols)]
        if let sum { buffers.append(("sum", sum, rows * cols)) }
        try checkCommon(rows: rows, cols: cols, eps: eps, buffers: buffers)
        let chosen = try environment.variant(variant, cpu: .cpuResidual, gpu: .gpuResidual, runs: [.cpuResidual, .gpuResidual], entryPoint: "residual layernorm")
        if rows == 0 || cols == 0 { return [] }
        let writeSum = sum != nil
        let program = try environment.program(Self.family,
                                              defines: storeDefines(outputElements: rows * cols).merging(["WRITE_SUM": writeSum ? "1" : "0"]) { $1 },
                                              extraOptions: RowOps.buildOptions)
        let elements = Double(rows) * Double(cols)
        // add (1) + layernorm (8)
        let bytes = (writeSum ? 16 : 12) * elements + 8 * Double(cols)
        // Without `sum` the kernel never touches that argument: bind `output` in its place.
        return [try rowStep(program, cpuKernel: "layernorm_residual_cpu", gpuKernel: "layernorm_residual_wg", cpu: chosen == .cpuResidual,
                            arguments: [input, residual, gain, bias, output, sum ?? output, Int32(rows), Int32(cols), eps],
                            rows: rows, cols: cols, variant: chosen,
                            label: "residual layernorm [\(rows), \(cols)] eps \(eps)\(writeSum ? " +sum" : "")",
                            flops: 9 * elements, bytes: bytes)]
    }

    /// The "proportions" norm (variants 9 CPU, 10 GPU): u = x / (mean_j |x_j| + eps),
    /// y = gain ⊙ c·tanh(u/c) (+ shift), c = `compression`.
    ///
    /// Rescales each row by its mean magnitude without centring; c·tanh(u/c) ≈ u for small u and
    /// compresses magnitudes beyond ~c softly towards c. `output` may alias `input`.
    public func encodeProportionsNorm(input: CLBuffer<Float>, gain: CLBuffer<Float>, shift: CLBuffer<Float>? = nil,
                                      output: CLBuffer<Float>, rows: Int, cols: Int, eps: Float, compression: Float = 4,
                                      variant: Variant? = nil) throws -> [LaunchStep] {
        var buffers: [(String, CLBuffer<Float>, Int)] = [("input", input, rows * cols), ("output", output, rows * cols), ("gain", gain, cols)]
        if let shift { buffers.append(("shift", shift, cols)) }
        try checkCommon(rows: rows, cols: cols, eps: eps, buffers: buffers)
        try checkCompression(compression)
        let chosen = try environment.variant(variant, cpu: .cpuProportions, gpu: .gpuProportions,
                                             runs: [.cpuProportions, .gpuProportions], entryPoint: "proportions norm")
        if rows == 0 || cols == 0 { return [] }
        let program = try environment.program(Self.family,
                                              defines: storeDefines(outputElements: rows * cols).merging(["PROP_SHIFT": shift != nil ? "1" : "0"]) { $1 },
                                              extraOptions: RowOps.buildOptions)
        let elements = Double(rows) * Double(cols)
        // |x| accumulate (1) + scale, tanh (counted as 1), two multiplies (4) (+ shift)
        // Without a shift the kernel never reads that argument: bind `gain` in its place.
        return [try rowStep(program, cpuKernel: "propnorm_cpu", gpuKernel: "propnorm_wg", cpu: chosen == .cpuProportions,
                            arguments: [input, gain, shift ?? gain, output, Int32(rows), Int32(cols), eps, compression],
                            rows: rows, cols: cols, variant: chosen,
                            label: "proportions norm [\(rows), \(cols)] eps \(eps) c \(compression)\(shift != nil ? " +shift" : "")",
                            flops: (shift != nil ? 6 : 5) * elements, bytes: 8 * elements + (shift != nil ? 8 : 4) * Double(cols))]
    }

    /// y = proportionsNorm(x + residual) and, when `sum` is given, sum = x + residual (variants 11 CPU, 12 GPU).
    ///
    /// One launch for the residual add and the norm of a pre-norm block; `sum` may be the same
    /// buffer as `input` or `residual`, and `output` may alias either input.
    public func encodeResidualProportionsNorm(input: CLBuffer<Float>, residual: CLBuffer<Float>, gain: CLBuffer<Float>,
                                              shift: CLBuffer<Float>? = nil, output: CLBuffer<Float>, sum: CLBuffer<Float>? = nil,
                                              rows: Int, cols: Int, eps: Float, compression: Float = 4,
                                              variant: Variant? = nil) throws -> [LaunchStep] {
        var buffers: [(String, CLBuffer<Float>, Int)] = [("input", input, rows * cols), ("residual", residual, rows * cols),
                                                         ("output", output, rows * cols), ("gain", gain, cols)]
        if let shift { buffers.append(("shift", shift, cols)) }
        if let sum { buffers.append(("sum", sum, rows * cols)) }
        try checkCommon(rows: rows, cols: cols, eps: eps, buffers: buffers)
        try checkCompression(compression)
        let chosen = try environment.variant(variant, cpu: .cpuResidualProportions, gpu: .gpuResidualProportions,
                                             runs: [.cpuResidualProportions, .gpuResidualProportions],
                                             entryPoint: "residual proportions norm")
        if rows == 0 || cols == 0 { return [] }
        let writeSum = sum != nil
        let defines = storeDefines(outputElements: rows * cols)
            .merging(["WRITE_SUM": writeSum ? "1" : "0", "PROP_SHIFT": shift != nil ? "1" : "0"]) { $1 }
        let program = try environment.program(Self.family, defines: defines, extraOptions: RowOps.buildOptions)
        let elements = Double(rows) * Double(cols)
        // add (1) + proportions norm (5, or 6 with a shift)
        let bytes = (writeSum ? 16 : 12) * elements + (shift != nil ? 8 : 4) * Double(cols)
        // Unused buffer arguments (no shift, no sum) are bound to buffers the kernel then never touches.
        return [try rowStep(program, cpuKernel: "propnorm_residual_cpu", gpuKernel: "propnorm_residual_wg", cpu: chosen == .cpuResidualProportions,
                            arguments: [input, residual, gain, shift ?? gain, output, sum ?? output, Int32(rows), Int32(cols),
                                        eps, compression],
                            rows: rows, cols: cols, variant: chosen,
                            label: "residual proportions norm [\(rows), \(cols)] eps \(eps) c \(compression)\(writeSum ? " +sum" : "")",
                            flops: (shift != nil ? 7 : 6) * elements, bytes: bytes)]
    }

    private func checkCompression(_ compression: Float) throws {
        guard compression > 0, compression.isFinite else {
            throw RowOpsError.invalidShape(family: Self.family, detail: "compression \(compression) must be finite and > 0")
        }
    }
}

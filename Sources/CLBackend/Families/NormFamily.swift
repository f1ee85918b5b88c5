import CLRuntime

/// Layer normalisation and RMS normalisation along rows (family "layernorm", `CLKernels/layernorm.cl`).
///
/// Variants 1–4 select the layernorm kernel; rmsnorm has no mean to compute, so 1 and 2 run
/// `rmsnorm_cpu` and 3 and 4 run `rmsnorm_wg`. `input` and `output` may be the same buffer.
public final class NormFamily {
    public static let family = "layernorm"
    public static let variants: [Int: String] = [
        1: "cpu two-pass: work-item per chunk of rows, float16, mean then centred variance (rmsnorm: sum of squares)",
        2: "cpu welford: work-item per chunk of rows, 16-lane Welford merged by Chan (rmsnorm: as 1)",
        3: "gpu two-pass: work-group per row, two local-memory tree sums (rmsnorm: one tree sum)",
        4: "gpu welford: work-group per row, per-item Welford, tree of Chan merges (rmsnorm: as 3)",
    ]

    public let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    private func shortName(_ variant: Int) -> String {
        "\(Self.family).\(variant) (\(Self.variants[variant]!.prefix(while: { $0 != ":" })))"
    }

    private func prepare(input: CLBuffer<Float>, output: CLBuffer<Float>, params: [(String, CLBuffer<Float>)],
                         rows: Int, cols: Int, eps: Float, variant: Int?) throws -> Int {
        let family = Self.family
        try RowOps.checkSizes(family, [("rows", rows), ("cols", cols), ("rows*cols", rows * cols)])
        guard eps >= 0, eps.isFinite else {
            throw RowOpsError.invalidShape(family: family, detail: "eps \(eps) must be finite and >= 0")
        }
        try RowOps.checkBuffer(family, "input", input, rows * cols)
        try RowOps.checkBuffer(family, "output", output, rows * cols)
        for (name, buffer) in params { try RowOps.checkBuffer(family, name, buffer, cols) }
        return try RowOps.chooseVariant(variant, family: family, environment: environment,
                                        automatic: environment.deviceClass == .cpu ? 1 : 3, variants: Self.variants)
    }

    /// y = (x − mean)/sqrt(var + eps)·gain + bias over each row (biased variance).
    public func encodeLayerNorm(input: CLBuffer<Float>, gain: CLBuffer<Float>, bias: CLBuffer<Float>, output: CLBuffer<Float>,
                                rows: Int, cols: Int, eps: Float, variant: Int? = nil) throws -> [LaunchStep] {
        let chosen = try prepare(input: input, output: output, params: [("gain", gain), ("bias", bias)],
                                 rows: rows, cols: cols, eps: eps, variant: variant)
        if rows == 0 || cols == 0 { return [] }
        let program = try environment.program(Self.family, extraOptions: RowOps.fastMath)
        let elements = Double(rows) * Double(cols)
        // sum (1) + centred square (3) + normalise and affine (4)
        let flops = 8 * elements
        let bytes = 8 * elements + 8 * Double(cols)
        let label = "layernorm [\(rows), \(cols)] eps \(eps)"
        let common: [any KernelArgumentConvertible] = [input, gain, bias, output, Int32(rows), Int32(cols), eps]
        switch chosen {
        case 1, 2:
            let kernel = try program.kernel(chosen == 1 ? "layernorm_twopass_cpu" : "layernorm_welford_cpu")
            let perItem = RowOps.cpuRowsPerItem(rows: rows, cols: cols, computeUnits: environment.context.device.info.computeUnits)
            try kernel.setArguments(common + [Int32(perItem)])
            return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(rows, perItem)], local: environment.cpuFriendlyLocal,
                               variant: shortName(chosen), label: label, flops: flops, bytes: bytes)]
        case 3:
            let kernel = try program.kernel("layernorm_twopass_wg")
            let group = RowOps.groupSize(for: kernel, cols: cols)
            try kernel.setArguments(common + [KernelArgument.localBytes(group * 4)])
            return [LaunchStep(kernel: kernel, global: [rows * group], local: [group],
                               variant: shortName(chosen), label: label, flops: flops, bytes: bytes)]
        default:
            let kernel = try program.kernel("layernorm_welford_wg")
            let group = RowOps.groupSize(for: kernel, cols: cols)
            let local = KernelArgument.localBytes(group * 4)
            try kernel.setArguments(common + [local, local, local])
            return [LaunchStep(kernel: kernel, global: [rows * group], local: [group],
                               variant: shortName(chosen), label: label, flops: flops, bytes: bytes)]
        }
    }

    /// y = x·rsqrt(mean(x²) + eps)·gain
    public func encodeRMSNorm(input: CLBuffer<Float>, gain: CLBuffer<Float>, output: CLBuffer<Float>,
                              rows: Int, cols: Int, eps: Float, variant: Int? = nil) throws -> [LaunchStep] {
        let chosen = try prepare(input: input, output: output, params: [("gain", gain)],
                                 rows: rows, cols: cols, eps: eps, variant: variant)
        if rows == 0 || cols == 0 { return [] }
        let program = try environment.program(Self.family, extraOptions: RowOps.fastMath)
        let elements = Double(rows) * Double(cols)
        // square-accumulate (2) + two multiplies (2)
        let flops = 4 * elements
        let bytes = 8 * elements + 4 * Double(cols)
        let label = "rmsnorm [\(rows), \(cols)] eps \(eps)"
        let common: [any KernelArgumentConvertible] = [input, gain, output, Int32(rows), Int32(cols), eps]
        if chosen <= 2 {
            let kernel = try program.kernel("rmsnorm_cpu")
            let perItem = RowOps.cpuRowsPerItem(rows: rows, cols: cols, computeUnits: environment.context.device.info.computeUnits)
            try kernel.setArguments(common + [Int32(perItem)])
            return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(rows, perItem)], local: environment.cpuFriendlyLocal,
                               variant: shortName(chosen), label: label, flops: flops, bytes: bytes)]
        }
        let kernel = try program.kernel("rmsnorm_wg")
        let group = RowOps.groupSize(for: kernel, cols: cols)
        try kernel.setArguments(common + [KernelArgument.localBytes(group * 4)])
        return [LaunchStep(kernel: kernel, global: [rows * group], local: [group],
                           variant: shortName(chosen), label: label, flops: flops, bytes: bytes)]
    }
}

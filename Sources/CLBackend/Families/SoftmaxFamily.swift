import CLRuntime

/// Errors of the row-wise families (softmax, layernorm/rmsnorm, reduce, embedding, loss).
public enum RowOpsError: Error, CustomStringConvertible, Sendable {
    /// A size that is negative, too large for the kernels' 32-bit indices, or otherwise unusable.
    case invalidShape(family: String, detail: String)

    public var description: String {
        switch self {
        case .invalidShape(let family, let detail):
            return "kernel family '\(family)': \(detail)"
        }
    }
}

/// Shared plumbing of the row-wise families.
enum RowOps {
    /// Build options of the row-wise families (softmax, loss, layernorm): none. Not
    /// `-cl-fast-relaxed-math`, which implies `-cl-finite-math-only`: the compiler may then assume
    /// no NaN or Inf, and rmsnorm_wg gives NaN for a row holding Inf where IEEE gives
    /// `x · rsqrt(Inf) = 0`. `-cl-unsafe-math-optimizations` alone breaks the same case (its
    /// approximate rsqrt); `-cl-mad-enable -cl-no-signed-zeros` keeps every non-finite case but
    /// buys nothing. The CPU kernels vectorise by hand (float16 loads, fastmath.cl's polynomial
    /// exp), so the flag gains no measurable time on pocl (interleaved `clbench layernorm` and
    /// `clbench attention` rounds with and without it: Benchmarks/results/pocl-3.1-amd-epyc-2cu/layernorm/README.md).
    static let buildOptions = ""

    /// Checks that every size is in 0...Int32.max (kernels index rows with `int`, offsets with `size_t`).
    static func checkSizes(_ family: String, _ sizes: [(String, Int)]) throws {
        for (name, value) in sizes where value < 0 || value > Int(Int32.max) {
            throw RowOpsError.invalidShape(family: family, detail: "\(name) = \(value) is outside 0...\(Int32.max)")
        }
    }

    /// Checks that `buffer` holds at least `needed` elements.
    static func checkBuffer<T>(_ family: String, _ name: String, _ buffer: CLBuffer<T>, _ needed: Int) throws {
        guard buffer.count >= needed else {
            throw CLError.sizeMismatch(operation: "\(family) encode",
                                       detail: "\(name) holds \(buffer.count) elements, needs \(needed)")
        }
    }

    /// Rows handled by one work-item of a CPU row kernel: enough work per item (~16K elements) to
    /// amortise pocl's per-work-group cost, but at least 16 items per compute unit when the rows allow.
    static func cpuRowsPerItem(rows: Int, cols: Int, computeUnits: Int) -> Int {
        let byWork = max(1, (16_384 + max(cols, 1) - 1) / max(cols, 1))
        let byBalance = max(1, rows / max(1, 16 * computeUnits))
        return max(1, min(byWork, byBalance))
    }

    /// A power-of-two work-group size for a group-per-row kernel: at most 256, at most the
    /// kernel's limit, no larger than needed to cover `cols` items.
    static func groupSize(for kernel: CLKernel, cols: Int, cap: Int = 256) -> Int {
        let limit = max(1, min(cap, kernel.maxWorkGroupSize, kernel.program.context.device.info.maxWorkGroupSize))
        var size = 1
        while size * 2 <= limit && size < cols { size *= 2 }
        return size
    }

    static func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
}

/// Rows × cols, softmax (or log-softmax) along each row of `input` into `output`.
/// Optional pre-scaling and causal mask for the unfused attention path: value = x*scale,
/// and column j of row r is masked (-inf → probability 0) when j > (r % maskPeriod) + maskOffset.
public struct CausalMask: Hashable, Sendable {
    public var period: Int
    public var offset: Int
    public init(period: Int, offset: Int) {
        self.period = period
        self.offset = offset
    }
}

/// Softmax / log-softmax along rows (family "softmax", `CLKernels/softmax.cl`).
///
/// Masked columns come out 0 (softmax) or -inf (log-softmax); a row with every column masked is
/// all 0 / all -inf rather than NaN. `input` and `output` may be the same buffer (each row is read
/// before it is written by the same work-item or work-group).
public final class SoftmaxFamily {
    public static let family = "softmax"
    /// The family's variants (the header of `CLKernels/softmax.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case cpu = 1
        case gpu = 2

        public static let family = SoftmaxFamily.family
        public var summary: String {
            switch self {
            case .cpu: return "cpu: work-item per chunk of rows, float16 loads, 3 passes in cache, work-groups of 1"
            case .gpu: return "gpu: work-group per row, strided coalesced loads, local-memory tree reductions"
            }
        }
    }

    public let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    public func encode(input: CLBuffer<Float>, output: CLBuffer<Float>, rows: Int, cols: Int, log: Bool = false,
                       scale: Float = 1, causalMask: CausalMask? = nil, variant: Variant? = nil) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("rows", rows), ("cols", cols), ("rows*cols", rows * cols)])
        if let mask = causalMask {
            guard mask.period >= 1 else {
                throw RowOpsError.invalidShape(family: family, detail: "causal mask period \(mask.period) must be >= 1")
            }
            try RowOps.checkSizes(family, [("mask period", mask.period)])
            guard mask.offset >= Int(Int32.min), mask.offset <= Int(Int32.max) else {
                throw RowOpsError.invalidShape(family: family, detail: "causal mask offset \(mask.offset) does not fit Int32")
            }
        }
        try RowOps.checkBuffer(family, "input", input, rows * cols)
        try RowOps.checkBuffer(family, "output", output, rows * cols)
        let chosen = variant ?? environment.variant(cpu: Variant.cpu, gpu: .gpu)
        if rows == 0 || cols == 0 { return [] }

        let program = try environment.program(
            family, defines: ["LOG_SOFTMAX": log ? "1" : "0", "CAUSAL": causalMask == nil ? "0" : "1"],
            extraOptions: RowOps.buildOptions)
        let period = Int32(causalMask?.period ?? 1), offset = Int32(causalMask?.offset ?? 0)
        let elements = Double(rows) * Double(cols)
        // max (1) + fma (2) + exp (counted as 1) + sum (1) + scale/normalise (1)
        let flops = 6 * elements
        let bytes = 8 * elements
        let what = "\(log ? "log_softmax" : "softmax") [\(rows), \(cols)]"
            + (scale != 1 ? " scale \(scale)" : "")
            + (causalMask.map { " causal(period \($0.period), offset \($0.offset))" } ?? "")
        let name = chosen.label

        switch chosen {
        case .cpu:
            let kernel = try program.kernel("softmax_rows_cpu")
            let perItem = RowOps.cpuRowsPerItem(rows: rows, cols: cols,
                                                computeUnits: environment.context.device.info.computeUnits)
            try kernel.setArguments(input, output, Int32(rows), Int32(cols), scale, period, offset, Int32(perItem))
            return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(rows, perItem)], local: environment.cpuFriendlyLocal,
                               variant: name, label: what, flops: flops, bytes: bytes)]
        case .gpu:
            let kernel = try program.kernel("softmax_rows_wg")
            let group = RowOps.groupSize(for: kernel, cols: cols)
            try kernel.setArguments(input, output, Int32(rows), Int32(cols), scale, period, offset,
                                    KernelArgument.localBytes(group * MemoryLayout<Float>.stride))
            return [LaunchStep(kernel: kernel, global: [rows * group], local: [group],
                               variant: name, label: what, flops: flops, bytes: bytes)]
        }
    }
}

import CLRuntime

/// The backward of layer norm: dx, dgain and dbias in two launches (family "layernorm_backward",
/// `CLKernels/layernorm_backward.cl`).
public final class LayerNormBackwardFamily {
    public static let family = "layernorm_backward"
    /// The family's variants (the header of `CLKernels/layernorm_backward.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case rows = 1

        public static let family = LayerNormBackwardFamily.family
        public var summary: String {
            switch self {
            case .rows: return "rows: work-item per block of rows writing dx and per-item partial dgain/dbias, then a finish over the items"
            }
        }
    }

    public let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// How many work-items share the rows: a few per compute unit on CPUs (each a contiguous block
    /// of rows), many on GPUs; never more than the rows.
    func items(rows: Int) -> Int {
        let units = max(1, environment.context.device.info.computeUnits)
        return max(1, min(rows, environment.deviceClass == .cpu ? 4 * units : 256 * units))
    }

    /// Gradients of `layerNorm(x, gain, bias, eps)` for `rows` rows of `cols` from dy; a nil output
    /// is not written (dgain and dbias are computed together: a nil one goes to scratch the steps own).
    /// With `addend` (shaped like x), dx holds `addend + dx`; dx may be the addend's buffer.
    public func encode(x: CLBuffer<Float>, gain: CLBuffer<Float>, dy: CLBuffer<Float>, dx: CLBuffer<Float>?,
                       dgain: CLBuffer<Float>?, dbias: CLBuffer<Float>?, addend: CLBuffer<Float>? = nil,
                       rows: Int, cols: Int, eps: Float, label: String) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("rows", rows), ("cols", cols), ("rows*cols", rows * cols)])
        try RowOps.checkBuffer(family, "x", x, rows * cols)
        try RowOps.checkBuffer(family, "gain", gain, cols)
        try RowOps.checkBuffer(family, "dy", dy, rows * cols)
        if let dx { try RowOps.checkBuffer(family, "dx", dx, rows * cols) }
        if let dgain { try RowOps.checkBuffer(family, "dgain", dgain, cols) }
        if let dbias { try RowOps.checkBuffer(family, "dbias", dbias, cols) }
        if let addend { try RowOps.checkBuffer(family, "addend", addend, rows * cols) }
        if rows == 0 || cols == 0 { return [] }
        let variant = environment.variant(automatic: Variant.rows)
        let program = try environment.program(family)
        let items = items(rows: rows)
        let rowsPerItem = RowOps.ceilDiv(rows, items)
        let launched = RowOps.ceilDiv(rows, rowsPerItem)
        let context = environment.context
        let partials = try CLBuffer<Float>(context: context, count: launched * 2 * cols)
        let rowsKernel = try program.kernel("layernorm_backward_rows")
        try rowsKernel.setArguments(x, gain, dy, addend ?? x, dx ?? partials, partials, Int32(rows), Int32(cols), eps,
                                    Int32(rowsPerItem), Int32(dx == nil ? 0 : 1), Int32(addend == nil ? 0 : 1))
        let elements = Double(rows) * Double(cols)
        var steps = [LaunchStep(kernel: rowsKernel, global: [launched], local: environment.cpuFriendlyLocal,
                                variant: variant.label, label: label, flops: 14 * elements,
                                bytes: 4 * elements * (dx == nil ? 2 : addend == nil ? 3 : 4) + 8 * Double(launched * cols))]
        guard dgain != nil || dbias != nil else { return steps }
        let scratch = dgain == nil || dbias == nil ? try CLBuffer<Float>(context: context, count: cols) : nil
        let finish = try program.kernel("layernorm_backward_finish")
        try finish.setArguments(partials, dgain ?? scratch!, dbias ?? scratch!, Int32(launched), Int32(cols))
        steps.append(LaunchStep(kernel: finish, global: [2 * cols], local: nil, variant: variant.label,
                                label: label + " (dgain, dbias)", flops: Double(launched * 2 * cols),
                                bytes: 4 * Double(launched * 2 * cols + 2 * cols)))
        return steps
    }
}

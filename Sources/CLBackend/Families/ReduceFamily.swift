import CLRuntime

public enum ReductionKind: String, Sendable {
    case sum, mean, max
}

/// Sum / mean / max over the middle axis of [outer, length, inner] (family "reduce", `CLKernels/reduce.cl`).
public final class ReduceFamily {
    public static let family = "reduce"
    /// The family's variants (the header of `CLKernels/reduce.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case cpu = 1
        case gpu = 2

        public static let family = ReduceFamily.family
        public var summary: String {
            switch self {
            case .cpu: return "cpu: inner==1 work-item per chunk of rows with float16 loads; inner>1 work-item per 16 adjacent columns (float16 accumulator)"
            case .gpu: return "gpu: inner==1 work-group per row with local-memory tree; inner>1 work-item per output, coalesced"
            }
        }
    }

    public let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// The index of each row's largest element (``Op/argmax``): input [rows, length], output [rows] i32.
    public func encodeArgmax(input: CLBuffer<Float>, output: CLBuffer<Int32>, rows: Int, length: Int) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("rows", rows), ("length", length), ("rows*length", rows * length)])
        guard length >= 1 else { throw RowOpsError.invalidShape(family: family, detail: "cannot take the arg-max of an empty row") }
        try RowOps.checkBuffer(family, "input", input, rows * length)
        try RowOps.checkBuffer(family, "output", output, rows)
        if rows == 0 { return [] }
        let kernel = try environment.program(family, defines: ["KIND": "2"]).kernel("argmax_rows")
        try kernel.setArguments(input, output, Int32(rows), Int32(length))
        return [LaunchStep(kernel: kernel, global: [rows], local: environment.cpuFriendlyLocal, variant: "argmax (item per row)",
                           label: "argmax [\(rows), \(length)] -> [\(rows)]", flops: Double(rows * length),
                           bytes: 4 * Double(rows * length + rows))]
    }

    /// input viewed as [outer, length, inner] (row-major); output [outer, inner] reduced over `length`.
    /// `length` must be at least 1 unless the output is empty.
    public func encode(input: CLBuffer<Float>, output: CLBuffer<Float>, outer: Int, length: Int, inner: Int,
                       kind: ReductionKind, variant: Variant? = nil) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("outer", outer), ("length", length), ("inner", inner),
                                       ("outer*length*inner", outer * length * inner)])
        try RowOps.checkBuffer(family, "input", input, outer * length * inner)
        try RowOps.checkBuffer(family, "output", output, outer * inner)
        let chosen = variant ?? environment.variant(cpu: Variant.cpu, gpu: .gpu)
        if outer == 0 || inner == 0 { return [] }
        guard length >= 1 else {
            throw RowOpsError.invalidShape(family: family, detail: "cannot \(kind.rawValue)-reduce an axis of length 0")
        }
        let kindCode: Int
        switch kind {
        case .sum: kindCode = 0
        case .mean: kindCode = 1
        case .max: kindCode = 2
        }
        let program = try environment.program(family, defines: ["KIND": "\(kindCode)"])
        let elements = Double(outer) * Double(length) * Double(inner)
        let flops = elements + (kind == .mean ? Double(outer * inner) : 0)
        let bytes = 4 * elements + 4 * Double(outer * inner)
        let label = "reduce \(kind.rawValue) [\(outer), \(length), \(inner)] -> [\(outer), \(inner)]"
        let name = chosen.label
        let cpuLocal2D: [Int]? = environment.deviceClass == .cpu ? [1, 1] : nil

        switch (chosen, inner == 1) {
        case (.cpu, true):
            let kernel = try program.kernel("reduce_rows_cpu")
            let perItem = RowOps.cpuRowsPerItem(rows: outer, cols: length, computeUnits: environment.context.device.info.computeUnits)
            try kernel.setArguments(input, output, Int32(outer), Int32(length), Int32(perItem))
            return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(outer, perItem)], local: environment.cpuFriendlyLocal,
                               variant: name, label: label, flops: flops, bytes: bytes)]
        case (.cpu, false):
            let kernel = try program.kernel("reduce_cols_cpu")
            try kernel.setArguments(input, output, Int32(outer), Int32(length), Int32(inner))
            return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(inner, 16), outer], local: cpuLocal2D,
                               variant: name, label: label, flops: flops, bytes: bytes)]
        case (.gpu, true):
            let kernel = try program.kernel("reduce_rows_wg")
            let group = RowOps.groupSize(for: kernel, cols: length)
            try kernel.setArguments(input, output, Int32(outer), Int32(length), KernelArgument.localBytes(group * 4))
            return [LaunchStep(kernel: kernel, global: [outer * group], local: [group],
                               variant: name, label: label, flops: flops, bytes: bytes)]
        case (.gpu, false):
            let kernel = try program.kernel("reduce_cols_wi")
            try kernel.setArguments(input, output, Int32(outer), Int32(length), Int32(inner))
            return [LaunchStep(kernel: kernel, global: [inner, outer], local: nil,
                               variant: name, label: label, flops: flops, bytes: bytes)]
        }
    }
}

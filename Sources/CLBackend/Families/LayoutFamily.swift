import CLRuntime

/// Permute, slice and concat pieces as strided copies (`CLKernels/layout.cl`).
public final class LayoutFamily {
    public static let family = "layout"
    /// The family's variants (the header of `CLKernels/layout.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case strided = 1
        case contiguousRuns = 2

        public static let family = LayoutFamily.family
        public var shortName: String { self == .strided ? "strided copy" : "contiguous runs" }
        public var summary: String {
            switch self {
            case .strided: return "strided copy, one work-item per element (GPU)"
            case .contiguousRuns: return "contiguous runs per work-item with float16 vectors (CPU; copies whose last axis is contiguous)"
            }
        }
    }

    private let environment: FamilyEnvironment
    /// The small stride tables the bound kernels read; kept alive with the family.
    private var metaBuffers: [CLBuffer<Int32>] = []

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// Copies a `dims`-shaped block: element at index vector x goes from
    /// `input[inputOffset + Σ x·inputStrides]` to `output[outputOffset + Σ x·outputStrides]`.
    public func encodeCopy(input: any DeviceMemory, output: any DeviceMemory, isInt: Bool, dims: [Int],
                           inputStrides: [Int], outputStrides: [Int], inputOffset: Int = 0, outputOffset: Int = 0,
                           label: String) throws -> [LaunchStep] {
        precondition(dims.count == inputStrides.count && dims.count == outputStrides.count && dims.count <= 8)
        let count = dims.reduce(1, *)
        guard count > 0 else { return [] }
        let (dims, inputStrides, outputStrides) = Self.mergingContiguousAxes(dims, inputStrides, outputStrides)
        let runsAreContiguous = inputStrides.last == 1 && outputStrides.last == 1
        let automatic: Variant = environment.deviceClass == .cpu && runsAreContiguous && dims.last! >= 4 ? .contiguousRuns : .strided
        if environment.variant(automatic: automatic) == .contiguousRuns && runsAreContiguous {
            return try encodeRows(input: input, output: output, isInt: isInt, dims: dims, inputStrides: inputStrides,
                                  outputStrides: outputStrides, inputOffset: inputOffset, outputOffset: outputOffset, label: label)
        }
        let kernel = try environment.program(Self.family).kernel(isInt ? "strided_copy_int" : "strided_copy")
        try kernel.setArguments(KernelArgument.buffer(output), KernelArgument.buffer(input), try meta(dims, inputStrides, outputStrides),
                                Int32(count), Int32(inputOffset), Int32(outputOffset))
        let local = 64
        return [LaunchStep(kernel: kernel, global: [(count + local - 1) / local * local], local: [local],
                           variant: Variant.strided.label, label: label, flops: 0, bytes: Double(8 * count))]
    }

    /// Variant 2: one contiguous run of the last axis at a time, several runs per work-item.
    private func encodeRows(input: any DeviceMemory, output: any DeviceMemory, isInt: Bool, dims: [Int], inputStrides: [Int],
                            outputStrides: [Int], inputOffset: Int, outputOffset: Int, label: String) throws -> [LaunchStep] {
        var (outer, inner) = (Array(dims.dropLast()), dims.last!)
        var (outerIn, outerOut) = (Array(inputStrides.dropLast()), Array(outputStrides.dropLast()))
        // A long run alone would be one work-item: cut it into pieces the cores can share.
        if let piece = Self.runPiece(inner, rows: outer.reduce(1, *)) {
            outer.append(inner / piece)
            outerIn.append(piece)
            outerOut.append(piece)
            inner = piece
        }
        let rows = outer.reduce(1, *)
        // About 2k elements per work-item: enough to amortise the index arithmetic, enough items for every core.
        let rowsPerItem = max(1, min(rows / 8, 2048 / inner))
        let kernel = try environment.program(Self.family).kernel(isInt ? "strided_rows_int" : "strided_rows")
        try kernel.setArguments(KernelArgument.buffer(output), KernelArgument.buffer(input), try meta(outer, outerIn, outerOut),
                                Int32(rows), Int32(inner), Int32(rowsPerItem), Int32(inputOffset), Int32(outputOffset))
        return [LaunchStep(kernel: kernel, global: [(rows + rowsPerItem - 1) / rowsPerItem], local: environment.cpuFriendlyLocal,
                           variant: Variant.contiguousRuns.label, label: label, flops: 0, bytes: Double(8 * rows * inner))]
    }

    private func meta(_ dims: [Int], _ inputStrides: [Int], _ outputStrides: [Int]) throws -> CLBuffer<Int32> {
        let meta = try CLBuffer<Int32>(context: environment.context,
                                       values: ([dims.count] + dims + inputStrides + outputStrides).map { Int32($0) })
        metaBuffers.append(meta)
        return meta
    }

    /// Drops axes of size 1 and merges each axis into the next where both sides are contiguous
    /// across them (stride = next stride × next size), so runs are as long as the layout allows.
    static func mergingContiguousAxes(_ dims: [Int], _ inputStrides: [Int], _ outputStrides: [Int]) -> ([Int], [Int], [Int]) {
        var d: [Int] = [], i: [Int] = [], o: [Int] = []
        for axis in dims.indices where dims[axis] != 1 {
            if let last = d.indices.last, i[last] == inputStrides[axis] * dims[axis], o[last] == outputStrides[axis] * dims[axis] {
                d[last] *= dims[axis]
                i[last] = inputStrides[axis]
                o[last] = outputStrides[axis]
            } else {
                d.append(dims[axis]); i.append(inputStrides[axis]); o.append(outputStrides[axis])
            }
        }
        return d.isEmpty ? ([1], [1], [1]) : (d, i, o)
    }

    /// A divisor of `run` (a multiple of 16, at most 2048) to split it by when there are fewer than 8 rows.
    static func runPiece(_ run: Int, rows: Int) -> Int? {
        guard rows < 8, run > 4096 else { return nil }
        return stride(from: 2048, through: 16, by: -16).first { run % $0 == 0 }
    }

    /// Row-major strides of `dims`.
    public static func strides(_ dims: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: dims.count)
        var running = 1
        for axis in stride(from: dims.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= dims[axis]
        }
        return strides
    }
}

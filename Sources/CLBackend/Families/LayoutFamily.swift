import CLRuntime

/// Permute, slice and concat pieces as strided copies (`CLKernels/layout.cl`).
public final class LayoutFamily {
    public static let family = "layout"
    public static let variants: [Int: String] = [1: "strided copy, one work-item per element (any device)"]

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
        let meta = try CLBuffer<Int32>(
            context: environment.context,
            values: ([dims.count] + dims + inputStrides + outputStrides).map { Int32($0) })
        metaBuffers.append(meta)
        let kernel = try environment.program(Self.family).kernel(isInt ? "strided_copy_int" : "strided_copy")
        try kernel.setArguments(KernelArgument.buffer(output), KernelArgument.buffer(input), meta,
                                Int32(count), Int32(inputOffset), Int32(outputOffset))
        let local = 64
        return [LaunchStep(kernel: kernel, global: [(count + local - 1) / local * local], local: [local],
                           variant: "layout.1 (strided copy)", label: label, flops: 0, bytes: Double(8 * count))]
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

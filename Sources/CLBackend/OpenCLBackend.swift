import CLRuntime
import TensorGraph

/// The OpenCL backend: compiles a graph into a `CLPlan` for one device.
public final class OpenCLBackend: Backend {
    public let context: CLContext

    public var name: String { "opencl (\(context.device.info.name))" }
    public var allocatedDeviceBytes: Int? { context.allocatedBufferBytes }

    public init(context: CLContext) { self.context = context }

    /// A backend on the device chosen by `selector` (index or name part; default `CLGRAPH_DEVICE`,
    /// else the first GPU, else the first device).
    public convenience init(device selector: String? = nil) throws {
        self.init(context: try CLContext(selecting: selector))
    }

    public func compile(_ graph: Graph, outputs: [Tensor], assignments: [Assignment], options: CompileOptions) throws -> any Plan {
        try compilePlan(graph, outputs: outputs, assignments: assignments, options: options)
    }

    /// Like `compile`, with the concrete plan type (steps, memory figures, trace).
    public func compilePlan(_ graph: Graph, outputs: [Tensor], assignments: [Assignment] = [],
                            options: CompileOptions = CompileOptions()) throws -> CLPlan {
        try CLPlan(graph: graph, outputs: outputs, assignments: assignments, options: options, context: context)
    }

    /// `CompileOptions.kernelVariants` key: 0 turns horizontal fusion off (every elementwise group
    /// its own launch); 1, the default, runs independent groups as one launch.
    public static let horizontalFusionOption = "elementwise.horizontal"
    /// `CompileOptions.kernelVariants` key: the argument bytes one horizontally fused launch may
    /// take, instead of the device's `CL_DEVICE_MAX_PARAMETER_SIZE` (tests force splits with it).
    public static let parameterBytesOption = "elementwise.parameter-bytes"

    /// Kernel families and their numbered variants, for tools that exercise every variant.
    public static let kernelVariants: [String: [Int: String]] = [
        MatmulFamily.family: MatmulFamily.variants,
        SoftmaxFamily.family: SoftmaxFamily.variants,
        NormFamily.family: NormFamily.variants,
        ReduceFamily.family: ReduceFamily.variants,
        EmbeddingFamily.family: EmbeddingFamily.variants,
        CrossEntropyFamily.family: CrossEntropyFamily.variants,
        AttentionFamily.family: AttentionFamily.variants,
        LayoutFamily.family: LayoutFamily.variants,
        QuantMatmulFamily.family: QuantMatmulFamily.variants,
        HalfMatmulFamily.family: HalfMatmulFamily.variants,
        DropoutFamily.family: DropoutFamily.variants,
        "elementwise": [1: "generated fused kernel, one element per work-item (GPU)",
                        2: "generated fused kernel, float16 chunks per work-item with a scalar tail (CPU)"],
    ]

    /// One set of compile options per (family, variant), plus unfused attention: running the
    /// conformance suite under each exercises every kernel variant, not only the defaults.
    public static func variantCoverageOptions() -> [(label: String, options: CompileOptions)] {
        var result: [(String, CompileOptions)] = [("default", CompileOptions())]
        for (family, variants) in kernelVariants.sorted(by: { $0.key < $1.key }) where variants.count > 1 {
            for number in variants.keys.sorted() {
                var options = CompileOptions()
                options.kernelVariants = [family: number]
                result.append(("\(family).\(number)", options))
            }
        }
        // One tuned (non-default) matmul configuration, as a cache winner would run.
        var tuned = CompileOptions()
        tuned.kernelVariants = [MatmulFamily.family: 2, MatmulFamily.tuningOption: 1]
        result.append(("matmul.2 tuned", tuned))
        var unfused = CompileOptions()
        unfused.attention = .unfused
        result.append(("attention unfused", unfused))
        return result
    }
}

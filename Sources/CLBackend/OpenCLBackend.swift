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

    /// The arithmetic shortcuts a plan compiled with `options` may take on this device: half
    /// products when f16 variant 3 is forced and the device offers it; quantized activations
    /// unless another quant variant is forced (the automatic choice on CPUs quantizes x).
    public func numericShortcuts(under options: CompileOptions) -> NumericShortcuts {
        let forced = options.openCL.forcedVariants
        var shortcuts: NumericShortcuts = []
        if let half = forced[HalfMatmulFamily.Variant.self], HalfMatmulFamily.halfArithmeticVariants.contains(half),
           HalfMatmulFamily.unavailability(of: half, on: context.device.info) == nil {
            shortcuts.insert(.halfPrecisionProducts)
        }
        let quant = forced[QuantMatmulFamily.Variant.self]
        if quant == nil || quant == .cpuQuantizedX { shortcuts.insert(.quantizedActivations) }
        return shortcuts
    }

    /// The variant types of every kernel family, for tools that exercise or parse variants.
    public static let kernelVariantTypes: [any KernelVariant.Type] = [
        AttentionFamily.Variant.self, AttentionBackwardFamily.Variant.self, CrossEntropyFamily.Variant.self,
        DropoutFamily.Variant.self, ElementwiseVariant.self, EmbeddingFamily.Variant.self, HalfMatmulFamily.Variant.self,
        KVCacheFamily.Variant.self, LayerNormBackwardFamily.Variant.self, LayoutFamily.Variant.self, MatmulFamily.Variant.self, NormFamily.Variant.self,
        QuantMatmulFamily.Variant.self, ReduceFamily.Variant.self, RowProductFamily.Variant.self, SoftmaxFamily.Variant.self,
    ]

    /// The variant `family.number` ("matmul.2"), or an error naming the families or the family's numbers.
    public static func kernelVariant(family: String, number: Int) throws -> any KernelVariant {
        guard let type = kernelVariantTypes.first(where: { $0.family == family }) else {
            throw KernelVariantError.unknownFamily(family, available: kernelVariantTypes.map { $0.family })
        }
        return try type.numbered(number)
    }

    /// One set of compile options per plan variant of every family with more than one, plus a
    /// tuned matmul configuration and unfused attention: running the conformance suite under each
    /// exercises every kernel variant a plan can run, not only the defaults.
    public static func variantCoverageOptions() -> [(label: String, options: CompileOptions)] {
        var result: [(String, CompileOptions)] = [("default", CompileOptions())]
        func passes<V: KernelVariant>(_ type: V.Type) -> [(String, CompileOptions)] {
            guard V.planVariants.count > 1 else { return [] }
            return V.planVariants.map { ($0.name, CompileOptions(openCL: OpenCLOptions(forcing: $0))) }
        }
        // The attention-backward variants have their own shape sweep (each pass here runs the whole table).
        let covered = kernelVariantTypes.filter { $0.family != AttentionBackwardFamily.family }
        for type in covered.sorted(by: { $0.family < $1.family }) { result += passes(type) }
        // One tuned (non-default) matmul configuration, as a cache winner would run.
        var tuned = OpenCLOptions(forcing: MatmulFamily.Variant.cpuRegisterBlocked)
        tuned.matmulTuning = .conformanceConfiguration(1)
        result.append(("matmul.2 tuned", CompileOptions(openCL: tuned)))
        result.append(("attention unfused", CompileOptions(attention: .unfused)))
        return result
    }
}

import CLRuntime

/// One kernel launch of a compiled plan: a kernel whose arguments are already bound to the
/// plan's buffers, its work sizes, and what it costs (for traces and benchmarks).
///
/// Plans bind buffers once at compile time, so running a plan is only a loop of enqueues.
/// A step keeps every buffer bound to its kernel alive (`CLKernel` retains them), scratch included.
public struct LaunchStep {
    public let kernel: CLKernel
    public let global: [Int]
    public let local: [Int]?
    /// Kernel family and variant, e.g. "matmul.2 (cpu register-blocked)" (``KernelVariant/label``).
    public let variant: String
    /// What the step computes, e.g. "matmul [128, 144]x[144, 512]".
    public let label: String
    /// Floating-point operations and bytes moved (read + written) per launch.
    public let flops: Double
    public let bytes: Double

    public init(kernel: CLKernel, global: [Int], local: [Int]?, variant: String, label: String,
                flops: Double, bytes: Double) {
        self.kernel = kernel
        self.global = global
        self.local = local
        self.variant = variant
        self.label = label
        self.flops = flops
        self.bytes = bytes
    }

    /// Enqueues the launch; returns a profiling event when `event` is true.
    @discardableResult
    public func enqueue(on context: CLContext, event: Bool = false) throws -> CLEvent? {
        try context.enqueue(kernel, global: global, local: local, event: event)
    }
}

/// The broad class of device a kernel variant is written for.
public enum DeviceClass: String, Sendable, CaseIterable {
    /// Wide explicit vectors, contiguous chunks per work-item, no local memory (pocl and other CPU drivers).
    case cpu
    /// Work-groups cooperating through local memory, coalesced loads.
    case gpu

    public init(_ info: DeviceInfo) { self = info.isGPU || info.localMemoryType == "local" && !info.isCPU ? .gpu : .cpu }
}

/// What a kernel family needs to build its programs and choose a variant.
public struct FamilyEnvironment {
    public let context: CLContext
    public let deviceClass: DeviceClass
    /// The backend options of the compile (forced variants, tuning source, launch limits).
    public let options: OpenCLOptions

    public init(context: CLContext, options: OpenCLOptions = OpenCLOptions()) {
        self.context = context
        self.deviceClass = DeviceClass(context.device.info)
        self.options = options
    }

    /// The variant of `V`'s family forced by the options, else `automatic`.
    public func variant<V: KernelVariant>(automatic: V) -> V { options.forcedVariants[V.self] ?? automatic }

    /// `cpu` on CPU-class devices, else `gpu`, unless the options force a variant of the family.
    public func variant<V: KernelVariant>(cpu: V, gpu: V) -> V { variant(automatic: deviceClass == .cpu ? cpu : gpu) }

    /// Work-group size for 1-D kernels that do not use local memory: on CPUs pocl runs one
    /// work-group per thread, so small groups spread the work over every core.
    public var cpuFriendlyLocal: [Int]? { deviceClass == .cpu ? [1] : nil }

    /// Global and work-group sizes along one axis for `items` independent work-items of a kernel
    /// that bounds-checks its ids (the global size may be rounded up). CPUs: groups of up to 8
    /// items, while every compute unit still gets a group; a CPU driver runs a group's items in one
    /// call, and for launches of a few dozen short items the cost per group dominates. GPUs: the
    /// driver picks the group (nil).
    public func groupedItems(_ items: Int) -> (global: Int, local: Int?) {
        guard deviceClass == .cpu, items > 0 else { return (items, nil) }
        let units = max(context.device.info.computeUnits, 1)
        let group = max(1, min(8, items / units))
        return ((items + group - 1) / group * group, group)
    }

    /// The built program of a family from `CLKernels/`, with `-D` definitions.
    public func program(_ family: String, defines: [String: String] = [:], extraOptions: String = "") throws -> CLProgram {
        guard let source = KernelSourceLookup.source(family) else {
            throw CLError.unknownKernelFamily(family)
        }
        let options = (defines.sorted { $0.key < $1.key }.map { "-D\($0.key)=\($0.value)" } + [extraOptions])
            .filter { !$0.isEmpty }.joined(separator: " ")
        return try context.program(family: family, source: source, options: options)
    }
}

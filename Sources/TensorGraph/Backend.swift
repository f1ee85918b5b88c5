/// The contract between graphs and the engines that run them.

/// How a backend lowers ``Op/attention(causal:scale:)``.
public enum AttentionLowering: String, Sendable, Hashable, CaseIterable {
    /// The backend decides.
    case automatic
    /// One fused kernel.
    case fused
    /// The decomposed matmul → scale → mask → softmax → matmul sequence.
    case unfused
}

/// Options one backend defines for itself (its kernel choices, launch limits, tuning source);
/// other backends ignore them. A backend reads its own type from ``CompileOptions/backendOptions``.
public protocol BackendOptions: Sendable {
    /// Equality across the existential, for ``CompileOptions``' `Hashable` conformance.
    func isEqual(to other: any BackendOptions) -> Bool
    /// Hashes the options (consistent with ``isEqual(to:)``).
    func hash(into hasher: inout Hasher)
}

extension BackendOptions where Self: Hashable {
    public func isEqual(to other: any BackendOptions) -> Bool { (other as? Self) == self }
}

/// Arithmetic shortcuts a compiled plan may take, beyond float32 evaluation in a different order.
/// Conformance bounds widen for the shortcuts a backend reports (``Backend/numericShortcuts(under:)``).
public struct NumericShortcuts: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Products of half-precision weights with activations rounded to half, multiplied in half.
    public static let halfPrecisionProducts = NumericShortcuts(rawValue: 1 << 0)
    /// Activations quantized per block before integer dot products with quantized weights.
    public static let quantizedActivations = NumericShortcuts(rawValue: 1 << 1)
}

/// Options for ``Backend/compile(_:outputs:options:)``.
public struct CompileOptions: Sendable, Hashable {
    /// How attention is lowered.
    public var attention: AttentionLowering = .automatic
    /// Options of one backend (for the OpenCL backend, its `OpenCLOptions`); nil means its defaults.
    public var backendOptions: (any BackendOptions)? = nil
    /// Print each kernel/op with its time.
    public var trace: Bool = false
    /// Debug: surround each output buffer with this many guard elements and verify them after every run.
    public var guardElements: Int = 0

    /// Memberwise, with the defaults above.
    public init(attention: AttentionLowering = .automatic, backendOptions: (any BackendOptions)? = nil,
                trace: Bool = false, guardElements: Int = 0) {
        self.attention = attention
        self.backendOptions = backendOptions
        self.trace = trace
        self.guardElements = guardElements
    }

    public static func == (a: CompileOptions, b: CompileOptions) -> Bool {
        guard a.attention == b.attention, a.trace == b.trace, a.guardElements == b.guardElements else { return false }
        switch (a.backendOptions, b.backendOptions) {
        case (nil, nil): return true
        case let (x?, y?): return x.isEqual(to: y)
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(attention)
        hasher.combine(trace)
        hasher.combine(guardElements)
        hasher.combine(backendOptions != nil)
        backendOptions?.hash(into: &hasher)
    }
}

/// Something that compiles a ``Graph`` into an executable ``Plan``.
public protocol Backend: AnyObject {
    /// A short name: `"reference"`, `"opencl"`, …
    var name: String { get }
    /// Compiles the part of `graph` that `outputs` and the assignments' values depend on. At the
    /// end of every run the plan writes each assignment's value into its variable.
    func compile(_ graph: Graph, outputs: [Tensor], assignments: [Assignment], options: CompileOptions) throws -> any Plan
    /// Bytes the backend holds in device buffers right now (every plan's buffers and variables),
    /// or nil where it keeps no device memory apart from the host's (the reference backend).
    var allocatedDeviceBytes: Int? { get }
    /// The arithmetic shortcuts a plan compiled with `options` may take (none by default).
    func numericShortcuts(under options: CompileOptions) -> NumericShortcuts
}

extension Backend {
    public var allocatedDeviceBytes: Int? { nil }
    public func numericShortcuts(under options: CompileOptions) -> NumericShortcuts { [] }

    /// Compiles the part of `graph` that `outputs` depend on (no state updates).
    public func compile(_ graph: Graph, outputs: [Tensor], options: CompileOptions) throws -> any Plan {
        try compile(graph, outputs: outputs, assignments: [], options: options)
    }
}

/// A compiled graph, run many times.
///
/// ## Threads
/// A plan may be run from several threads at once. Every conforming plan serialises its own
/// runs: ``run(_:)``, ``enqueue(_:)``, ``synchronize()``, ``setVariable(_:_:)`` and
/// ``variable(_:)`` on one plan behave as if called one after another (in some order), so a run
/// never sees another run's inputs or a half-applied state update. Distinct plans — from one
/// backend or several — run concurrently without interfering. Sharing one plan between threads
/// is therefore correct but gains no parallelism; give each thread its own plan to overlap work.
/// (``ReferencePlan`` and the OpenCL backend's `CLPlan` both hold a lock per plan.)
public protocol Plan: AnyObject {
    /// Runs with the given inputs (by input name); returns the outputs in the order given to compile.
    func run(_ feeds: [String: TensorData]) throws -> [TensorData]
    /// Sets persistent state (a weight) by name; it keeps its value across runs.
    func setVariable(_ name: String, _ value: TensorData) throws
    /// The current value of a variable.
    func variable(_ name: String) throws -> TensorData
    /// Peak device (or host) memory the plan's intermediate buffers need.
    var peakMemoryBytes: Int { get }
    /// Starts a run without waiting for it or reading its outputs (state updates still apply, in
    /// order); errors it raises surface at the next ``synchronize()`` or ``run(_:)``.
    func enqueue(_ feeds: [String: TensorData]) throws
    /// Waits for every enqueued run.
    func synchronize() throws
    /// Device commands one run enqueues (kernel launches and end-of-run copies, not counting the
    /// feeds' uploads and the outputs' reads); nil for a backend that launches no kernels.
    var commandsPerRun: Int? { get }
    /// Begins a run without waiting for it: the host prepares and starts the next run while the
    /// device works, and collects this run's outputs later with ``PlanRun/outputs()``. Runs execute
    /// in the order they are started (or run).
    ///
    /// `chaining` names inputs that take, on the device, an output of the run started (or run)
    /// just before this one: input name → output index. Such inputs are not fed; input and output
    /// must have the same dtype and element count. A greedy decoder chains its next token this way
    /// and never waits for a token before starting the step that reads it.
    /// - Throws: ``PlanError/invalidChain(input:detail:)`` for a chain that does not fit, and what
    ///   ``run(_:)`` throws for the feeds.
    func start(_ feeds: [String: TensorData], chaining: [String: Int]) throws -> any PlanRun
}

/// A run begun by ``Plan/start(_:chaining:)``.
public protocol PlanRun: AnyObject {
    /// Waits for the run and returns its outputs, in the order given to compile; errors the run
    /// raised (an index out of range, a guard region overwritten) are thrown here.
    func outputs() throws -> [TensorData]
}

/// A run whose outputs were computed when it started.
public final class CompletedPlanRun: PlanRun {
    private let values: [TensorData]
    public init(_ outputs: [TensorData]) { values = outputs }
    public func outputs() throws -> [TensorData] { values }
}

extension Plan {
    /// Default: a synchronous run whose outputs are dropped.
    public func enqueue(_ feeds: [String: TensorData]) throws { _ = try run(feeds) }
    /// Default: nothing is ever pending.
    public func synchronize() throws {}
    /// Default: no device commands.
    public var commandsPerRun: Int? { nil }
    /// Default: a synchronous run; chaining needs the plan to keep its last outputs, so it is refused.
    public func start(_ feeds: [String: TensorData], chaining: [String: Int]) throws -> any PlanRun {
        if let name = chaining.keys.sorted().first {
            throw PlanError.invalidChain(input: name, detail: "this plan does not keep its outputs between runs")
        }
        return CompletedPlanRun(try run(feeds))
    }
}

/// Errors from compiling or running a ``Plan``.
public enum PlanError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A needed input was not fed.
    case missingInput(name: String)
    /// A feed has the wrong shape.
    case inputShape(name: String, expected: Shape, got: Shape)
    /// A feed has the wrong dtype.
    case inputDType(name: String, expected: DType, got: DType)
    /// No variable of that name in the graph.
    case unknownVariable(name: String)
    /// A needed variable has never been set.
    case variableNotSet(name: String)
    /// An embedding index or cross-entropy target outside `0..<bound`.
    case indexOutOfRange(op: String, index: Int32, bound: Int)
    /// Like ``indexOutOfRange(op:index:bound:)``, raised by one of several runs enqueued without waiting.
    case indexOutOfRangeInEnqueuedRuns(op: String, bound: Int, runs: Int)
    /// A guard region around output `output` was overwritten.
    case guardViolation(output: Int, detail: String)
    /// A feed names no input of the graph.
    case unknownInput(name: String)
    /// A value given to ``Plan/setVariable(_:_:)`` has the wrong shape.
    case variableShape(name: String, expected: Shape, got: Shape)
    /// A value given to ``Plan/setVariable(_:_:)`` has the wrong dtype.
    case variableDType(name: String, expected: DType, got: DType)
    /// An output tensor belongs to another graph.
    case foreignOutput(index: Int)
    /// The backend cannot run this op or configuration.
    case unsupported(op: String, detail: String)
    /// An input named in ``Plan/start(_:chaining:)`` cannot take the output it names.
    case invalidChain(input: String, detail: String)

    public var description: String {
        switch self {
        case .missingInput(let n): return "missing input \"\(n)\": feed it to run()"
        case .inputShape(let n, let e, let g): return "input \"\(n)\": expected shape \(e), got \(g)"
        case .inputDType(let n, let e, let g): return "input \"\(n)\": expected dtype \(e.rawValue), got \(g.rawValue)"
        case .unknownVariable(let n): return "unknown variable \"\(n)\""
        case .variableNotSet(let n): return "variable \"\(n)\" has not been set: call setVariable first"
        case .indexOutOfRange(let op, let i, let b): return "\(op): index \(i) is outside 0..<\(b)"
        case .indexOutOfRangeInEnqueuedRuns(let op, let b, let runs):
            return "\(op): an index outside 0..<\(b) in one of the last \(runs) enqueued runs"
        case .guardViolation(let o, let d): return "output \(o): guard region overwritten: \(d)"
        case .unknownInput(let n): return "feed \"\(n)\" names no input of the graph"
        case .variableShape(let n, let e, let g): return "variable \"\(n)\": expected shape \(e), got \(g)"
        case .variableDType(let n, let e, let g): return "variable \"\(n)\": expected dtype \(e.rawValue), got \(g.rawValue)"
        case .foreignOutput(let i): return "output \(i) belongs to a different graph"
        case .unsupported(let op, let d): return "\(op): unsupported: \(d)"
        case .invalidChain(let n, let d): return "input \"\(n)\" cannot be chained: \(d)"
        }
    }
}

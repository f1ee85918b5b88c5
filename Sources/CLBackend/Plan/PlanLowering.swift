import CLRuntime
import TensorGraph

/// Lowers a graph to planned values and ops. ``FusionPass`` first applies the fusion rules (see
/// ``FusionPass/rules(for:)``); then one walk over the live nodes in graph order lowers each node
/// that roots a fusion through the fusion, each node a fusion absorbed not at all, and every other
/// node through its op's lowering (kernel families; aliases for reshapes). Buffers are assigned
/// later (``MemoryPlanner``), then the ops encoded.
final class PlanLowering {
    /// A device-side error flag a kernel raises (bad embedding index, bad target): one slot of a
    /// shared pool buffer, so a run reads every flag with one download.
    struct ErrorFlag {
        let flag: CLBuffer<Int32>
        /// Which of `errorFlagPools` holds the slot, and the slot's element offset in it.
        let pool: Int, slot: Int
        let op: String
        /// The value holding the offending indices, and the exclusive bound they must respect.
        let indices: ValueID
        let bound: Int
    }

    let graph: Graph
    let options: CompileOptions
    let environment: FamilyEnvironment
    private(set) var values: [PlannedValue] = []
    var ops: [LoweredOp] = []
    var valueOfNode: [NodeID: ValueID] = [:]
    private(set) var errorFlags: [ErrorFlag] = []
    /// Buffers holding the error flags' slots.
    private(set) var errorFlagPools: [CLBuffer<Int32>] = []
    private static let flagsPerPool = 64
    /// Elementwise groups whose launch waits to share one with later independent groups.
    var pendingElementwise = HorizontalFusion()
    /// Attention nodes whose backward is in the plan (a live attentionGrad reads their output as y).
    var attentionsWithBackward: Set<NodeID> = []
    /// Per attention node, the value its fused forward stored each query's softmax statistics in.
    var savedAttentionStatistics: [NodeID: ValueID] = [:]
    /// Attention operands read in place (``AttentionOperandViewRule``): they have no value of their own.
    var attentionOperandViews: [NodeID: AttentionOperandView] = [:]

    // One instance per family per plan: they own scratch and stride tables the steps read.
    lazy var matmul = MatmulFamily(environment: environment)
    lazy var softmax = SoftmaxFamily(environment: environment)
    lazy var norm = NormFamily(environment: environment)
    lazy var layerNormBackward = LayerNormBackwardFamily(environment: environment)
    lazy var reduce = ReduceFamily(environment: environment)
    lazy var embedding = EmbeddingFamily(environment: environment)
    lazy var crossEntropy = CrossEntropyFamily(environment: environment)
    lazy var attention = AttentionFamily(environment: environment)
    lazy var attentionBackward = AttentionBackwardFamily(environment: environment)
    lazy var layout = LayoutFamily(environment: environment)
    lazy var quantMatmul = QuantMatmulFamily(environment: environment)
    lazy var halfMatmul = HalfMatmulFamily(environment: environment)
    lazy var dropout = DropoutFamily(environment: environment)
    lazy var kvCache = KVCacheFamily(environment: environment)
    lazy var rowProduct = RowProductFamily(environment: environment)

    init(graph: Graph, options: CompileOptions, environment: FamilyEnvironment) {
        self.graph = graph
        self.options = options
        self.environment = environment
    }

    /// Lowers what `outputs` and `keepAlive` depend on; `keepAlive` values are treated like
    /// outputs (own buffers, computed even if nothing reads them) but not read back.
    /// - Throws: ``PlanError/unsupported(op:detail:)`` for an op the backend cannot lower.
    func lower(outputs: [Tensor], keepAlive: [Tensor] = []) throws {
        let context = FusionContext(graph: graph, outputs: Set(outputs.map(\.id) + keepAlive.map(\.id)))
        let fusions = FusionPass(rules: FusionPass.rules(for: self)).run(in: context)
        attentionsWithBackward = Self.attentionsWithBackward(in: context)
        for node in context.liveNodes where !fusions.absorbed.contains(node.id) {
            if let fusion = fusions.byRoot[node.id] {
                flushPendingGroups(ifReading: fusion.reads)
                try fusion.lower(self)
                continue
            }
            switch node.op {
            case .input(let name):
                valueOfNode[node.id] = newValue(node, role: .input(name))
            case .variable(let name):
                valueOfNode[node.id] = newValue(node, role: .variable(name))
            case .constant:
                break  // materialised on first use: scalar constants inside fused kernels need no buffer
            case .reshape:
                valueOfNode[node.id] = value(of: node.inputs[0])
            default:
                flushPendingGroups(ifReading: node.inputs)
                try lowerOp(node)
            }
        }
        flushPendingGroups()
        for output in outputs + keepAlive {
            let id = value(of: output.id)
            values[id].isOutput = true
        }
    }

    /// A new error flag for `op`, raised with (position + 1) of the bad entry of the `indices` value.
    /// Slots sit at the device's base address alignment, as sub-buffer origins must.
    func newErrorFlag(op: String, indices: ValueID, bound: Int) throws -> CLBuffer<Int32> {
        let stride = max(environment.context.device.info.baseAddressAlignmentBytes / 4, 1)
        let index = errorFlags.count % Self.flagsPerPool
        if index == 0 {
            errorFlagPools.append(try CLBuffer<Int32>(context: environment.context, count: stride * Self.flagsPerPool))
        }
        let flag = try errorFlagPools[errorFlagPools.count - 1].view(offset: index * stride, count: 1)
        errorFlags.append(ErrorFlag(flag: flag, pool: errorFlagPools.count - 1, slot: index * stride, op: op, indices: indices, bound: bound))
        return flag
    }

    /// The value computed for `node`, creating constant values on first use. Nodes are lowered in
    /// graph order and read only earlier nodes, so every node but a constant has its value already.
    func value(of node: NodeID) -> ValueID {
        if let existing = valueOfNode[node] { return existing }
        let definition = graph.node(node)
        guard case .constant(let data) = definition.op else {
            preconditionFailure("node \(node.index) (\(definition.op)) was not lowered before use")
        }
        let count = definition.shape.count
        let id = newValue(definition, role: .constant(data.count == count ? data : [Float](repeating: data[0], count: count)))
        valueOfNode[node] = id
        return id
    }

    private func newValue(_ node: Node, role: PlannedValue.Role) -> ValueID {
        let id = ValueID(index: values.count)
        values.append(PlannedValue(id: id, count: node.shape.count, dtype: node.dtype, role: role))
        return id
    }

    func newIntermediate(count: Int, dtype: DType = .f32) -> ValueID {
        let id = ValueID(index: values.count)
        values.append(PlannedValue(id: id, count: count, dtype: dtype, role: .intermediate))
        return id
    }

    /// `op (operand shapes) -> result shape`, for labels and traces.
    func describe(_ node: Node) -> String {
        let operands = node.inputs.map { graph.node($0).shape.description }.joined(separator: ", ")
        return "\(node.op.label) (\(operands)) -> \(node.shape)"
    }
}

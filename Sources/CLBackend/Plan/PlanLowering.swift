import CLRuntime
import TensorGraph

/// Lowers a graph to values and ops: fusion groups for elementwise chains, kernel families for
/// the rest, aliases for reshapes. Buffers are assigned later (MemoryPlanner), then ops encoded.
final class PlanLowering {
    /// A device-side error flag a kernel raises (bad embedding index, bad target): one slot of a
    /// shared pool buffer, so a run reads every flag with one download.
    struct ErrorFlag {
        let flag: CLBuffer<Int32>
        /// Which of `errorFlagPools` holds the slot, and the slot's element offset in it.
        let pool: Int, slot: Int
        let op: String
        /// The value holding the offending indices, and the exclusive bound they must respect.
        let indices: Int
        let bound: Int
    }

    let graph: Graph
    let options: CompileOptions
    let environment: FamilyEnvironment
    private(set) var values: [PlannedValue] = []
    var ops: [LoweredOp] = []
    var valueOfNode: [NodeID: Int] = [:]
    private(set) var errorFlags: [ErrorFlag] = []
    /// Buffers holding the error flags' slots.
    private(set) var errorFlagPools: [CLBuffer<Int32>] = []
    private static let flagsPerPool = 64
    /// Elementwise groups whose values exist but whose launch is not emitted yet: independent groups
    /// wait here until something reads one of them (or lowering ends), then run as one horizontally
    /// fused launch (PyTorch's foreach/fused optimizers, XLA's horizontal fusion). Deferring is safe
    /// because values are written once: an op that reads no pending value may run before them.
    private var pendingGroups: [ElementwiseGroup] = []
    /// Values the pending groups write (roots and extra outputs).
    private var pendingValues: Set<Int> = []

    // One instance per family per plan: they own scratch and stride tables the steps read.
    lazy var matmul = MatmulFamily(environment: environment)
    lazy var softmax = SoftmaxFamily(environment: environment)
    lazy var norm = NormFamily(environment: environment)
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
    /// Matmuls whose A is a norm computed inside their launch (``normPrologues``): matmul → norm node.
    var normPrologues: [NodeID: NodeID] = [:]

    init(graph: Graph, options: CompileOptions, environment: FamilyEnvironment) {
        self.graph = graph
        self.options = options
        self.environment = environment
    }

    /// Lowers what `outputs` and `keepAlive` depend on; `keepAlive` values are treated like
    /// outputs (own buffers, computed even if nothing reads them) but not read back.
    func lower(outputs: [Tensor], keepAlive: [Tensor] = []) throws {
        let outputIDs = Set(outputs.map(\.id) + keepAlive.map(\.id))
        let live = liveNodes(from: Array(outputIDs))
        let readers = readerCounts(live: live)
        let biasAdds = matmulBiasAdds(live: live, outputs: outputIDs, readers: readers)
        let epilogues = matmulActivations(live: live, outputs: outputIDs, readers: readers, biasAdds: biasAdds)
        let tanhBackwardProducts = Set(epilogues.values.filter { $0.activation == .tanhBackward }.map(\.matmul))
        normPrologues = normPrologues(live: live, outputs: outputIDs, readers: readers).filter { !tanhBackwardProducts.contains($0.key) }
        let decodeAttentions = decodeAttentions(live: live, readers: readers)
        let decodeAbsorbed = decodeAttentions.values.flatMap { [$0.keysWrite, $0.valuesWrite] + $0.absorbed }
        let groups = ElementwiseFusion.groups(graph: graph, live: live, outputs: outputIDs,
                                              claimed: Set(biasAdds.keys).union(epilogues.keys).union(epilogues.values.flatMap(\.absorbed))
                                                  .union(decodeAbsorbed))
        let fusedAway = Set(groups.values.flatMap { $0.members.dropLast() }).union(biasAdds.values.map(\.matmul))
            .union(epilogues.values.compactMap(\.biasAdd)).union(epilogues.values.map(\.matmul))
            .union(epilogues.values.flatMap(\.absorbed)).union(decodeAbsorbed).union(normPrologues.values)
        let lossWithGrads = crossEntropyWithGradients(live: live)
        // Lowered with their loss, at the loss's position.
        let loweredWithLoss = Set(lossWithGrads.values.flatMap { [$0.grad] + ($0.columnSum.map { [$0] } ?? []) })

        for node in graph.nodes where live.contains(node.id) && !fusedAway.contains(node.id) && !loweredWithLoss.contains(node.id) {
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
                if let epilogue = epilogues[node.id] {
                    try flushPendingGroups(ifReading: graph.node(epilogue.matmul).inputs + [epilogue.bias, epilogue.aux].compactMap { $0 })
                    try lowerMatmul(graph.node(epilogue.matmul), bias: epilogue.bias, activation: epilogue.activation,
                                    aux: epilogue.aux, producing: node)
                } else if let biasAdd = biasAdds[node.id] {
                    try flushPendingGroups(ifReading: graph.node(biasAdd.matmul).inputs + [biasAdd.bias])
                    try lowerMatmul(graph.node(biasAdd.matmul), bias: biasAdd.bias, producing: node)
                } else if let group = groups[node.id] {
                    try flushPendingGroups(ifReading: group.leaves)
                    deferElementwise(group)
                } else if let fused = decodeAttentions[node.id] {
                    try flushPendingGroups(ifReading: reads(of: fused, attention: node))
                    try lowerDecodeAttention(node, fused)
                } else if let fused = lossWithGrads[node.id] {
                    try flushPendingGroups(ifReading: node.inputs + [fused.upstream])
                    try lowerCrossEntropyWithGradient(node, fused)
                } else {
                    try flushPendingGroups(ifReading: node.inputs)
                    try lowerOp(node)
                }
            }
        }
        try flushPendingGroups()
        for output in outputs + keepAlive {
            let id = value(of: output.id)
            values[id].isOutput = true
        }
    }

    /// A new error flag for `op`, raised with (position + 1) of the bad entry of the `indices` value.
    /// Slots sit at the device's base address alignment, as sub-buffer origins must.
    func newErrorFlag(op: String, indices: Int, bound: Int) throws -> CLBuffer<Int32> {
        let stride = max(environment.context.device.info.baseAddressAlignmentBytes / 4, 1)
        let index = errorFlags.count % Self.flagsPerPool
        if index == 0 {
            errorFlagPools.append(try CLBuffer<Int32>(context: environment.context, count: stride * Self.flagsPerPool))
        }
        let flag = try errorFlagPools[errorFlagPools.count - 1].view(offset: index * stride, count: 1)
        errorFlags.append(ErrorFlag(flag: flag, pool: errorFlagPools.count - 1, slot: index * stride, op: op, indices: indices, bound: bound))
        return flag
    }

    /// The value computed for `node`, creating constant values on first use.
    func value(of node: NodeID) -> Int {
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

    private func newValue(_ node: Node, role: PlannedValue.Role) -> Int {
        values.append(PlannedValue(id: values.count, count: node.shape.count, dtype: node.dtype, role: role))
        return values.count - 1
    }

    func newIntermediate(count: Int, dtype: DType = .f32) -> Int {
        values.append(PlannedValue(id: values.count, count: count, dtype: dtype, role: .intermediate))
        return values.count - 1
    }

    /// How many live nodes read each node (an input read twice by one node counts twice).
    private func readerCounts(live: Set<NodeID>) -> [NodeID: Int] {
        var readers: [NodeID: Int] = [:]
        for node in graph.nodes where live.contains(node.id) {
            for input in node.inputs { readers[input, default: 0] += 1 }
        }
        return readers
    }

    /// `matmul + bias` where the bias is a row vector and the matmul has no other reader: the
    /// bias add runs inside the matmul kernel (the `linear` pattern), saving a launch and a pass over C.
    private func matmulBiasAdds(live: Set<NodeID>, outputs: Set<NodeID>,
                                readers: [NodeID: Int]) -> [NodeID: (matmul: NodeID, bias: NodeID)] {
        var result: [NodeID: (NodeID, NodeID)] = [:]
        for node in graph.nodes where live.contains(node.id) {
            guard case .binary(.add) = node.op, node.inputs.count == 2 else { continue }
            for (product, bias) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
                let productNode = graph.node(product), biasNode = graph.node(bias)
                guard case .matmul = productNode.op, readers[product] == 1, !outputs.contains(product),
                      productNode.shape == node.shape, biasNode.dtype == .f32,
                      biasNode.shape.count == node.shape[-1], biasNode.shape.dims.last == node.shape[-1]
                else { continue }
                result[node.id] = (product, bias)
                break
            }
        }
        return result
    }

    /// A float matmul (+ bias) whose only reader is an activation the matmul kernel can apply.
    struct MatmulEpilogue {
        let matmul: NodeID
        let bias: NodeID?
        /// The fused `matmul + bias` node, when there is a bias.
        let biasAdd: NodeID?
        let activation: MatmulActivation
        /// `tanhBackward`'s y (a tanh's output) or `residual`'s addend, read by the kernel.
        var aux: NodeID? = nil
        /// Elementwise nodes the epilogue computes (not lowered on their own).
        var absorbed: [NodeID] = []
    }

    /// `act(matmul [+ bias])` for tanh, gelu, sigmoid and relu, where the pre-activation has no
    /// other reader and is not an output: the matmul kernel applies `act` as it stores C, saving
    /// the elementwise launch and a pass over C (the MLP's hidden layer, the GPT's MLP at
    /// inference; in training gelu's backward reads its input, so there it stays separate).
    private func matmulActivations(live: Set<NodeID>, outputs: Set<NodeID>, readers: [NodeID: Int],
                                   biasAdds: [NodeID: (matmul: NodeID, bias: NodeID)]) -> [NodeID: MatmulEpilogue] {
        let activations: [UnaryOp: MatmulActivation] = [.tanh: .tanh, .gelu: .gelu, .sigmoid: .sigmoid, .relu: .relu]
        var result: [NodeID: MatmulEpilogue] = [:]
        for node in graph.nodes where live.contains(node.id) {
            guard case .unary(let op) = node.op, let activation = activations[op], node.dtype == .f32 else { continue }
            let pre = node.inputs[0]
            guard readers[pre] == 1, !outputs.contains(pre), graph.node(pre).shape == node.shape else { continue }
            let (matmul, bias, biasAdd): (NodeID, NodeID?, NodeID?)
            if let fused = biasAdds[pre] {
                (matmul, bias, biasAdd) = (fused.matmul, fused.bias, pre)
            } else if case .matmul = graph.node(pre).op {
                (matmul, bias, biasAdd) = (pre, nil, nil)
            } else { continue }
            // The quantized matmul kernels have no epilogue.
            guard !graph.node(graph.node(matmul).inputs[1]).dtype.isQuantized else { continue }
            result[node.id] = MatmulEpilogue(matmul: matmul, bias: bias, biasAdd: biasAdd, activation: activation)
        }
        for node in graph.nodes where live.contains(node.id) {
            if let epilogue = tanhBackwardEpilogue(node, readers: readers, outputs: outputs) { result[node.id] = epilogue }
        }
        for node in graph.nodes where live.contains(node.id) && result[node.id] == nil {
            if let epilogue = residualEpilogue(node, readers: readers, outputs: outputs, biasAdds: biasAdds) {
                result[node.id] = epilogue
            }
        }
        return result
    }

    /// `r + (matmul [+ bias])` with r shaped like the product (a residual connection, or gradients
    /// of one tensor summed): the matmul kernel adds r as it stores C, one launch and one pass over
    /// C fewer. The product must have no other reader and not be an output.
    private func residualEpilogue(_ node: Node, readers: [NodeID: Int], outputs: Set<NodeID>,
                                  biasAdds: [NodeID: (matmul: NodeID, bias: NodeID)]) -> MatmulEpilogue? {
        guard case .binary(.add) = node.op, node.dtype == .f32, biasAdds[node.id] == nil else { return nil }
        for (product, addend) in [(node.inputs[1], node.inputs[0]), (node.inputs[0], node.inputs[1])] where product != addend {
            guard readers[product] == 1, !outputs.contains(product), graph.node(product).shape == node.shape,
                  graph.node(addend).shape == node.shape, graph.node(addend).dtype == .f32 else { continue }
            let (matmul, bias, biasAdd): (NodeID, NodeID?, NodeID?)
            if let fused = biasAdds[product] {
                (matmul, bias, biasAdd) = (fused.matmul, fused.bias, product)
            } else if case .matmul = graph.node(product).op {
                (matmul, bias, biasAdd) = (product, nil, nil)
            } else { continue }
            guard !graph.node(graph.node(matmul).inputs[1]).dtype.isQuantized else { continue }
            return MatmulEpilogue(matmul: matmul, bias: bias, biasAdd: biasAdd, activation: .residual, aux: addend)
        }
        return nil
    }

    /// `g · (1 − y·y)` (autograd's tanh backward) where g is a float matmul with no other reader:
    /// the matmul kernel reads y and stores the product, one launch and one pass over [M, N] fewer
    /// (the MLP's dh·(1 − h²)).
    private func tanhBackwardEpilogue(_ node: Node, readers: [NodeID: Int], outputs: Set<NodeID>) -> MatmulEpilogue? {
        guard case .binary(.mul) = node.op, node.dtype == .f32 else { return nil }
        func onlyRead(_ id: NodeID) -> Bool { readers[id] == 1 && !outputs.contains(id) }
        for (product, factor) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
            let productNode = graph.node(product), factorNode = graph.node(factor)
            guard case .matmul = productNode.op, onlyRead(product), productNode.shape == node.shape,
                  !graph.node(productNode.inputs[1]).dtype.isQuantized,
                  case .binary(.sub) = factorNode.op, onlyRead(factor),
                  case .constant(let one) = graph.node(factorNode.inputs[0]).op, one == [1],
                  case .binary(.mul) = graph.node(factorNode.inputs[1]).op, onlyRead(factorNode.inputs[1])
            else { continue }
            let square = graph.node(factorNode.inputs[1])
            guard square.inputs[0] == square.inputs[1], graph.node(square.inputs[0]).shape == node.shape,
                  graph.node(square.inputs[0]).dtype == .f32 else { continue }
            return MatmulEpilogue(matmul: product, bias: nil, biasAdd: nil, activation: .tanhBackward,
                                  aux: square.inputs[0], absorbed: [factor, square.id])
        }
        return nil
    }

    /// A cross-entropy loss whose backward is in the same plan, computed by one launch.
    struct LossWithGradient {
        let grad: NodeID
        let upstream: NodeID
        /// `sum(grad, axis 0)` (the bias gradient of the logits' layer), folded into the same launch.
        let columnSum: NodeID?
    }

    /// `crossEntropy(logits, targets)` and `crossEntropyGrad(logits, targets, upstream)` with the
    /// same operands, on the CPU variant: the gradient of the mean needs only the count of rows,
    /// never the mean, so one kernel writes both. The pair is lowered at the loss, so the upstream
    /// gradient must come before it in the graph (the autograd seed is a constant; an upstream
    /// computed from the loss itself comes after it and keeps the separate launches).
    private func crossEntropyWithGradients(live: Set<NodeID>) -> [NodeID: LossWithGradient] {
        guard environment.variant(for: CrossEntropyFamily.family, automatic: environment.deviceClass == .cpu ? 1 : 2) == 1
        else { return [:] }
        var result: [NodeID: LossWithGradient] = [:]
        var paired = Set<NodeID>()
        for node in graph.nodes where live.contains(node.id) {
            guard case .crossEntropyGrad(let ignore) = node.op, !paired.contains(node.id) else { continue }
            let logits = graph.node(node.inputs[0]).shape
            guard logits[0] > 0, logits[1] > 0 else { continue }
            let upstream = graph.node(node.inputs[2])
            guard let loss = graph.nodes.first(where: { candidate in
                live.contains(candidate.id) && result[candidate.id] == nil
                    && candidate.op == .crossEntropy(ignoreIndex: ignore) && candidate.inputs == Array(node.inputs[0..<2])
            }) else { continue }
            if case .constant = upstream.op {} else if upstream.id.index > loss.id.index { continue }
            let columnSum = graph.nodes.first { candidate in
                live.contains(candidate.id) && candidate.inputs == [node.id]
                    && { if case .reduce(.sum, 0, _) = candidate.op { return true } else { return false } }()
            }
            result[loss.id] = LossWithGradient(grad: node.id, upstream: upstream.id, columnSum: columnSum?.id)
            paired.insert(node.id)
        }
        return result
    }

    private func liveNodes(from outputs: [NodeID]) -> Set<NodeID> {
        var live = Set<NodeID>()
        var stack = outputs
        while let id = stack.popLast() {
            if live.insert(id).inserted { stack.append(contentsOf: graph.node(id).inputs) }
        }
        return live
    }

    func describe(_ node: Node) -> String {
        let operands = node.inputs.map { graph.node($0).shape.description }.joined(separator: ", ")
        return "\(opName(node.op)) (\(operands)) -> \(node.shape)"
    }

    // MARK: Elementwise

    /// Whether independent elementwise groups share launches (`OpenCLBackend.horizontalFusionOption`, default on).
    private var horizontalFusion: Bool { (options.kernelVariants[OpenCLBackend.horizontalFusionOption] ?? 1) != 0 }

    /// The argument bytes one fused launch may take: the device's `CL_DEVICE_MAX_PARAMETER_SIZE`
    /// (1024, the full-profile minimum, when unknown) unless `OpenCLBackend.parameterBytesOption` sets it.
    private var launchParameterBytes: Int {
        options.kernelVariants[OpenCLBackend.parameterBytesOption] ?? environment.context.device.info.maxParameterBytes ?? 1024
    }

    /// Gives the group's root and extra outputs their values now (reshapes and later groups refer
    /// to them), and queues its launch.
    private func deferElementwise(_ group: ElementwiseGroup) {
        let count = graph.node(group.root).shape.count
        for member in [group.root] + group.extraOutputs {
            let value = newIntermediate(count: count)
            valueOfNode[member] = value
            pendingValues.insert(value)
        }
        pendingGroups.append(group)
        if !horizontalFusion { lowerElementwise(pendingGroups); clearPending() }
    }

    /// Emits the pending groups when one of `nodes` is computed by them (all of them when `nodes` is nil).
    func flushPendingGroups(ifReading nodes: [NodeID]? = nil) throws {
        guard !pendingGroups.isEmpty else { return }
        if let nodes, !nodes.contains(where: { valueOfNode[$0].map(pendingValues.contains) ?? false }) { return }
        // Split into launches whose arguments fit the device limit, keeping the groups' order.
        let budget = launchParameterBytes - ElementwiseKernelSource.sharedParameterBytes
        var launch: [ElementwiseGroup] = [], bytes = 0
        for group in pendingGroups {
            let groupBytes = ElementwiseKernelSource.parameterBytes(of: group, graph: graph)
            if !launch.isEmpty && bytes + groupBytes > budget {
                lowerElementwise(launch)
                (launch, bytes) = ([], 0)
            }
            launch.append(group)
            bytes += groupBytes
        }
        lowerElementwise(launch)
        clearPending()
    }

    private func clearPending() {
        pendingGroups = []
        pendingValues = []
    }

    /// One launch computing `groups` (already given values by ``deferElementwise(_:)``).
    private func lowerElementwise(_ groups: [ElementwiseGroup]) {
        let kernelSource = ElementwiseKernelSource(groups: groups, graph: graph)
        /// Per segment: element count, root value, (extra output node → value), (leaf node → value).
        struct Segment {
            let count: Int
            let output: Int
            let arguments: [ElementwiseKernelSource.Argument]
            let outputValues: [NodeID: Int]
            let leafValues: [NodeID: Int]
            let reads: [Int]
            let writes: [Int]
        }
        let segments = zip(groups, kernelSource.segments).map { group, arguments -> Segment in
            var leafValues: [NodeID: Int] = [:]
            var reads: [Int] = []
            for case .leaf(let node, _) in arguments {
                let value = value(of: node)
                if leafValues[node] == nil { reads.append(value) }
                leafValues[node] = value
            }
            let outputValues = Dictionary(uniqueKeysWithValues: group.extraOutputs.map { ($0, valueOfNode[$0]!) })
            let output = valueOfNode[group.root]!
            return Segment(count: graph.node(group.root).shape.count, output: output, arguments: arguments,
                           outputValues: outputValues, leafValues: leafValues, reads: reads,
                           writes: [output] + group.extraOutputs.map { outputValues[$0]! })
        }
        func groupLabel(_ group: ElementwiseGroup) -> String {
            "\(graph.node(group.root).shape)" + (group.extraOutputs.isEmpty ? "" : " (+\(group.extraOutputs.count) outputs)")
        }
        let label: String
        if groups.count == 1, let group = groups.first {
            label = "fused \(group.members.count) ops " + group.members.map { opName(graph.node($0).op) }.joined(separator: "·")
                + " -> " + groupLabel(group)
        } else {
            label = "fused \(groups.count) groups (\(groups.reduce(0) { $0 + $1.members.count }) ops) -> "
                + groups.map(groupLabel).joined(separator: ", ")
        }
        let total = segments.reduce(0) { $0 + $1.count }
        let flops = Double(zip(groups, segments).reduce(0) { $0 + $1.1.count * $1.0.members.count })
        let bytes = Double(segments.reduce(0) { $0 + $1.count * ($1.arguments.count + 1) }) * 4
        let environment = self.environment
        let allWrites = segments.flatMap(\.writes)
        var op = LoweredOp(label: label, inputs: Array(Set(segments.flatMap(\.reads))).sorted(), output: allWrites[0],
                           extraOutputs: Array(allWrites.dropFirst()), isElementwise: true) { buffers in
            let variant = environment.variant(for: "elementwise", automatic: environment.deviceClass == .cpu ? 2 : 1)
            let kernel = try environment.context.program(family: "fused-elementwise", source: kernelSource.source)
                .kernel(variant == 2 ? "fused_vec16" : "fused")
            // CPU form: about 64 work-items over the whole launch (every core busy, few work-groups:
            // pocl pays per group), each a run of whole float16 chunks of one segment.
            let perItem = variant == 2 ? max(16, (total / 64 + 15) / 16 * 16) : 1
            var arguments: [any KernelArgumentConvertible] = []
            var items = 0
            for segment in segments {
                arguments += [buffers[segment.output]!.floats, Int32(segment.count)] as [any KernelArgumentConvertible]
                items += (segment.count + perItem - 1) / perItem
                for argument in segment.arguments {
                    switch argument {
                    case .scalar(let value):
                        arguments.append(value)
                    case .output(let node):
                        arguments.append(buffers[segment.outputValues[node]!]!.floats)
                    case .leaf(let node, let access):
                        arguments.append(buffers[segment.leafValues[node]!]!.floats)
                        switch access {
                        case .same, .scalar: break
                        case .period(let period): arguments.append(Int32(period))
                        case .divisor(let divisor): arguments.append(Int32(divisor))
                        case .general(let meta):
                            arguments.append(try CLBuffer<Int32>(context: environment.context, values: meta))
                        }
                    }
                }
            }
            arguments.append(Int32(perItem))
            try kernel.setArguments(arguments)
            let local = variant == 2 ? 1 : 64
            return [LaunchStep(kernel: kernel, global: [(items + local - 1) / local * local], local: [local],
                               variant: variant == 2 ? "elementwise.2 (generated, fused, cpu float16)"
                                   : "elementwise.1 (generated, fused)", label: label, flops: flops, bytes: bytes)]
        }
        if groups.count > 1 { op.segments = segments.map { (reads: $0.reads, writes: $0.writes) } }
        ops.append(op)
    }

    // MARK: Other ops

    private func lowerOp(_ node: Node) throws {
        if case .matmul = node.op { return try lowerMatmul(node, bias: nil, producing: node) }
        if case .attentionGrad = node.op { return try lowerAttentionBackward(node) }
        let inputs = node.inputs.map { value(of: $0) }
        let inputShapes = node.inputs.map { graph.node($0).shape }
        let label = describe(node)
        let shape = node.shape
        func emit(_ output: Int, _ reads: [Int], _ encode: @escaping ([Int: DeviceBuffer]) throws -> [LaunchStep]) {
            ops.append(LoweredOp(label: label, inputs: reads, output: output, encode: encode))
        }
        let output = newIntermediate(count: shape.count, dtype: node.dtype)
        valueOfNode[node.id] = output

        switch node.op {
        case let .reduce(kind, axis, _):
            let dims = inputShapes[0].dims
            let outer = dims[..<axis].reduce(1, *), length = dims[axis], inner = dims[(axis + 1)...].reduce(1, *)
            let reduction: ReductionKind = kind == .sum ? .sum : kind == .mean ? .mean : .max
            emit(output, inputs) { [unowned self] buffers in
                try self.reduce.encode(input: buffers[inputs[0]]!.floats, output: buffers[output]!.floats, outer: outer,
                                       length: length, inner: inner, kind: reduction)
            }

        case .softmax(let axis), .logSoftmax(let axis):
            let isLog: Bool = { if case .logSoftmax = node.op { return true } else { return false } }()
            try lowerSoftmax(input: inputs[0], output: output, shape: inputShapes[0], axis: axis, log: isLog, label: label)

        case .layerNorm(let eps):
            let cols = shape[-1], rows = shape.count / max(cols, 1)
            emit(output, inputs) { [unowned self] buffers in
                try self.norm.encodeLayerNorm(input: buffers[inputs[0]]!.floats, gain: buffers[inputs[1]]!.floats,
                                              bias: buffers[inputs[2]]!.floats, output: buffers[output]!.floats,
                                              rows: rows, cols: cols, eps: eps)
            }

        case .rmsNorm(let eps):
            let cols = shape[-1], rows = shape.count / max(cols, 1)
            emit(output, inputs) { [unowned self] buffers in
                try self.norm.encodeRMSNorm(input: buffers[inputs[0]]!.floats, gain: buffers[inputs[1]]!.floats,
                                            output: buffers[output]!.floats, rows: rows, cols: cols, eps: eps)
            }

        case .embedding:
            let table = inputShapes[0], count = inputShapes[1].count
            let flag = try newErrorFlag(op: "embedding", indices: inputs[1], bound: table[0])
            emit(output, inputs) { [unowned self] buffers in
                try self.embedding.encode(table: buffers[inputs[0]]!.floats, indices: buffers[inputs[1]]!.ints,
                                          output: buffers[output]!.floats, count: count, vocab: table[0], dim: table[1],
                                          errorFlag: flag)
            }

        case .crossEntropy(let ignoreIndex):
            let logits = inputShapes[0]
            let flag = try newErrorFlag(op: "crossEntropy", indices: inputs[1], bound: logits[1])
            emit(output, inputs) { [unowned self] buffers in
                try self.crossEntropy.encode(logits: buffers[inputs[0]]!.floats, targets: buffers[inputs[1]]!.ints,
                                             loss: buffers[output]!.floats, rows: logits[0], classes: logits[1],
                                             ignoreIndex: ignoreIndex, errorFlag: flag)
            }

        case .embeddingGrad(let vocabularySize):
            let count = inputShapes[0].count, dim = shape[1]
            let flag = try newErrorFlag(op: "embeddingGrad", indices: inputs[0], bound: vocabularySize)
            emit(output, inputs) { [unowned self] buffers in
                try self.embedding.encodeGrad(indices: buffers[inputs[0]]!.ints, gradOutput: buffers[inputs[1]]!.floats,
                                              gradTable: buffers[output]!.floats, count: count, vocab: vocabularySize,
                                              dim: dim, errorFlag: flag)
            }

        case .dropoutMask(_, let keep, let salt):
            emit(output, inputs) { [unowned self] buffers in
                try self.dropout.encodeMask(seed: buffers[inputs[0]]!.ints, output: buffers[output]!.floats, count: shape.count,
                                            keep: keep, salt: salt)
            }

        case .crossEntropyGrad(let ignoreIndex):
            let logits = inputShapes[0]
            let flag = try newErrorFlag(op: "crossEntropyGrad", indices: inputs[1], bound: logits[1])
            emit(output, inputs) { [unowned self] buffers in
                try self.crossEntropy.encodeGrad(logits: buffers[inputs[0]]!.floats, targets: buffers[inputs[1]]!.ints,
                                                 upstream: buffers[inputs[2]]!.floats, grad: buffers[output]!.floats,
                                                 rows: logits[0], classes: logits[1], ignoreIndex: ignoreIndex, errorFlag: flag)
            }

        case .permute(let axes):
            let inputStrides = LayoutFamily.strides(inputShapes[0].dims)
            let isInt = node.dtype == .i32
            emit(output, inputs) { [unowned self] buffers in
                try self.layout.encodeCopy(input: buffers[inputs[0]]!.memory, output: buffers[output]!.memory, isInt: isInt,
                                           dims: shape.dims, inputStrides: axes.map { inputStrides[$0] },
                                           outputStrides: LayoutFamily.strides(shape.dims), label: label)
            }

        case let .slice(axis, start, _):
            let inputStrides = LayoutFamily.strides(inputShapes[0].dims)
            let isInt = node.dtype == .i32
            emit(output, inputs) { [unowned self] buffers in
                try self.layout.encodeCopy(input: buffers[inputs[0]]!.memory, output: buffers[output]!.memory, isInt: isInt,
                                           dims: shape.dims, inputStrides: inputStrides,
                                           outputStrides: LayoutFamily.strides(shape.dims),
                                           inputOffset: start * inputStrides[axis], label: label)
            }

        case .concat(let axis):
            let outputStrides = LayoutFamily.strides(shape.dims)
            let isInt = node.dtype == .i32
            emit(output, inputs) { [unowned self] buffers in
                var steps: [LaunchStep] = []
                var offset = 0
                for (input, pieceShape) in zip(inputs, inputShapes) {
                    steps += try self.layout.encodeCopy(
                        input: buffers[input]!.memory, output: buffers[output]!.memory, isInt: isInt, dims: pieceShape.dims,
                        inputStrides: LayoutFamily.strides(pieceShape.dims), outputStrides: outputStrides,
                        outputOffset: offset * outputStrides[axis], label: label)
                    offset += pieceShape[axis]
                }
                return steps
            }

        case let .attention(causal, scale):
            try lowerAttention(node, inputs: inputs, shapes: inputShapes, output: output, causal: causal, scale: scale,
                               label: label)

        case .cacheWrite:
            try lowerCacheWrite(node, inputs: inputs, output: output, label: label)

        case .cachedAttention(let scale):
            try lowerCachedAttention(node, inputs: inputs, output: output, scale: scale, label: label)

        default:
            preconditionFailure("no lowering for \(node.op)")
        }
    }

    private func lowerCrossEntropyWithGradient(_ node: Node, _ fused: LossWithGradient) throws {
        guard case .crossEntropy(let ignoreIndex) = node.op else { preconditionFailure("not a cross-entropy") }
        let logits = value(of: node.inputs[0]), targets = value(of: node.inputs[1]), upstream = value(of: fused.upstream)
        let shape = graph.node(node.inputs[0]).shape
        let rows = shape[0], classes = shape[1]
        let loss = newIntermediate(count: 1), grad = newIntermediate(count: rows * classes)
        valueOfNode[node.id] = loss
        valueOfNode[fused.grad] = grad
        let columnSum = fused.columnSum.map { _ in newIntermediate(count: classes) }
        if let node = fused.columnSum, let columnSum { valueOfNode[node] = columnSum }
        let flag = try newErrorFlag(op: "crossEntropy", indices: targets, bound: classes)
        let label = describe(node) + " + " + describe(graph.node(fused.grad)) + (fused.columnSum == nil ? "" : " + column sums")
        ops.append(LoweredOp(label: label, inputs: [logits, targets, upstream], output: loss,
                             extraOutputs: [grad] + (columnSum.map { [$0] } ?? [])) { [unowned self] buffers in
            try self.crossEntropy.encodeLossAndGrad(
                logits: buffers[logits]!.floats, targets: buffers[targets]!.ints, upstream: buffers[upstream]!.floats,
                loss: buffers[loss]!.floats, grad: buffers[grad]!.floats, columnSums: columnSum.map { buffers[$0]!.floats },
                rows: rows, classes: classes, ignoreIndex: ignoreIndex, errorFlag: flag)
        })
    }

    /// A matmul node, optionally with a bias row and an activation fused in; the result is the value of `producing`.
    private func lowerMatmul(_ node: Node, bias: NodeID?, activation: MatmulActivation = .none, aux: NodeID? = nil,
                             producing result: Node) throws {
        guard case let .matmul(transposeA, transposeB) = node.op else { preconditionFailure("not a matmul") }
        if graph.node(node.inputs[1]).dtype.isQuantized { return lowerQuantizedMatmul(node, bias: bias, producing: result) }
        if let norm = normPrologues[node.id] {
            return try lowerNormalizedProduct(node, norm: graph.node(norm), bias: bias, activation: activation, aux: aux, producing: result)
        }
        let inputs = node.inputs.map { value(of: $0) }
        let biasValue = bias.map { value(of: $0) }
        let auxValue = aux.map { value(of: $0) }
        let a = graph.node(node.inputs[0]).shape, b = graph.node(node.inputs[1]).shape
        let shape = node.shape
        let m = shape[-2], n = shape[-1]
        let k = transposeA ? a[-2] : a[-1]
        let batch = shape.count / max(m * n, 1)
        let matmulShape = MatmulShape(batch: batch, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                      broadcastB: b.rank == 2 && batch > 1)
        let output = newIntermediate(count: shape.count)
        valueOfNode[result.id] = output
        let label = describe(node) + (bias == nil ? "" : " + bias") + (activation == .none ? "" : " → \(activation)")
        ops.append(LoweredOp(label: label, inputs: inputs + [biasValue, auxValue].compactMap { $0 }, output: output) { [unowned self] buffers in
            try self.matmul.encode(a: buffers[inputs[0]]!.floats, b: buffers[inputs[1]]!.floats, c: buffers[output]!.floats,
                                   shape: matmulShape, bias: biasValue.map { buffers[$0]!.floats }, activation: activation,
                                   aux: auxValue.map { buffers[$0]!.floats })
        })
    }

    private func lowerSoftmax(input: Int, output: Int, shape: Shape, axis: Int, log: Bool, label: String) throws {
        let cols = shape[axis]
        if axis == shape.rank - 1 {
            let rows = shape.count / max(cols, 1)
            ops.append(LoweredOp(label: label, inputs: [input], output: output) { [unowned self] buffers in
                try self.softmax.encode(input: buffers[input]!.floats, output: buffers[output]!.floats, rows: rows,
                                        cols: cols, log: log)
            })
            return
        }
        // Softmax over an inner axis: move the axis last, normalise rows, move it back.
        var order = Array(0..<shape.rank)
        order.remove(at: axis)
        order.append(axis)
        let moved = order.map { shape.dims[$0] }
        var inverse = [Int](repeating: 0, count: order.count)
        for (position, axis) in order.enumerated() { inverse[axis] = position }
        let movedIn = newIntermediate(count: shape.count)
        let movedOut = newIntermediate(count: shape.count)
        let inputStrides = LayoutFamily.strides(shape.dims)
        let movedStrides = LayoutFamily.strides(moved)
        ops.append(LoweredOp(label: label + " (axis to last)", inputs: [input], output: movedIn) { [unowned self] buffers in
            try self.layout.encodeCopy(input: buffers[input]!.memory, output: buffers[movedIn]!.memory, isInt: false,
                                       dims: moved, inputStrides: order.map { inputStrides[$0] },
                                       outputStrides: movedStrides, label: label + " (axis to last)")
        })
        ops.append(LoweredOp(label: label, inputs: [movedIn], output: movedOut) { [unowned self] buffers in
            try self.softmax.encode(input: buffers[movedIn]!.floats, output: buffers[movedOut]!.floats,
                                    rows: shape.count / max(cols, 1), cols: cols, log: log)
        })
        ops.append(LoweredOp(label: label + " (axis back)", inputs: [movedOut], output: output) { [unowned self] buffers in
            try self.layout.encodeCopy(input: buffers[movedOut]!.memory, output: buffers[output]!.memory, isInt: false,
                                       dims: shape.dims, inputStrides: inverse.map { movedStrides[$0] },
                                       outputStrides: inputStrides, label: label + " (axis back)")
        })
    }

    /// Causal attention with more queries than keys. The first `Tq − Tk` queries see no key and, as
    /// the op defines, average v uniformly (neither kernel path does that: the fused kernels reject
    /// the shape, the masked softmax writes 0 for a fully masked row); the last `Tk` queries see
    /// keys exactly as with a square causal mask. Lowered as the mean of v over the keys copied into
    /// the first rows, and causal attention of a contiguous copy of the last `Tk` queries copied
    /// into the rest.
    private func lowerAttentionWithUnseenQueries(_ node: Node, inputs: [Int], shapes: [Shape], output: Int, scale: Float,
                                                 label: String) throws {
        let q = shapes[0], k = shapes[1], v = shapes[2]
        let tq = q[-2], tk = k[-2], d = q[-1], dv = v[-1]
        let batchHeads = q.count / max(tq * d, 1), unseen = tq - tk
        let meanV = newIntermediate(count: batchHeads * dv)
        let meanLabel = label + " (mean of v for the \(unseen) queries that see no key)"
        ops.append(LoweredOp(label: meanLabel, inputs: [inputs[2]], output: meanV) { [unowned self] buffers in
            try self.reduce.encode(input: buffers[inputs[2]]!.floats, output: buffers[meanV]!.floats, outer: batchHeads,
                                   length: tk, inner: dv, kind: .mean)
        })
        let lastQueries = newIntermediate(count: batchHeads * tk * d)
        let sliceLabel = label + " (last \(tk) queries)"
        ops.append(LoweredOp(label: sliceLabel, inputs: [inputs[0]], output: lastQueries) { [unowned self] buffers in
            try self.layout.encodeCopy(input: buffers[inputs[0]]!.memory, output: buffers[lastQueries]!.memory, isInt: false,
                                       dims: [batchHeads, tk, d], inputStrides: [tq * d, d, 1], outputStrides: [tk * d, d, 1],
                                       inputOffset: unseen * d, label: sliceLabel)
        })
        let lastRows = newIntermediate(count: batchHeads * tk * dv)
        try lowerAttention(node, inputs: [lastQueries, inputs[1], inputs[2]], shapes: [Shape([batchHeads, tk, d]), k, v],
                           output: lastRows, causal: true, scale: scale, label: label)
        let joinLabel = label + " (rows joined)"
        ops.append(LoweredOp(label: joinLabel, inputs: [meanV, lastRows], output: output) { [unowned self] buffers in
            let out = buffers[output]!.memory
            return try self.layout.encodeCopy(input: buffers[meanV]!.memory, output: out, isInt: false,
                                              dims: [batchHeads, unseen, dv], inputStrides: [dv, 0, 1],
                                              outputStrides: [tq * dv, dv, 1], label: joinLabel)
                + self.layout.encodeCopy(input: buffers[lastRows]!.memory, output: out, isInt: false,
                                         dims: [batchHeads, tk, dv], inputStrides: [tk * dv, dv, 1],
                                         outputStrides: [tq * dv, dv, 1], outputOffset: unseen * dv, label: joinLabel)
        })
    }

    private func lowerAttention(_ node: Node, inputs: [Int], shapes: [Shape], output: Int, causal: Bool, scale: Float,
                                label: String) throws {
        let q = shapes[0], k = shapes[1], v = shapes[2]
        let tq = q[-2], tk = k[-2], d = q[-1], dv = v[-1]
        let batchHeads = q.count / max(tq * d, 1)
        if causal && tq > tk && tk > 0 {
            return try lowerAttentionWithUnseenQueries(node, inputs: inputs, shapes: shapes, output: output, scale: scale,
                                                       label: label)
        }
        let fused = options.attention != .unfused
        if fused {
            let attentionShape = AttentionShape(batchHeads: batchHeads, queries: tq, keys: tk, headDim: d, valueDim: dv,
                                                causal: causal, scale: scale)
            ops.append(LoweredOp(label: label + " fused", inputs: inputs, output: output) { [unowned self] buffers in
                try self.attention.encode(q: buffers[inputs[0]]!.floats, k: buffers[inputs[1]]!.floats,
                                          v: buffers[inputs[2]]!.floats, output: buffers[output]!.floats,
                                          shape: attentionShape)
            })
            return
        }
        // Unfused: scores = q·kᵀ (T×T in memory), masked scaled softmax, then ·v.
        let scores = newIntermediate(count: batchHeads * tq * tk)
        let probabilities = newIntermediate(count: batchHeads * tq * tk)
        ops.append(LoweredOp(label: label + " q·kᵀ", inputs: [inputs[0], inputs[1]], output: scores) { [unowned self] buffers in
            try self.matmul.encode(a: buffers[inputs[0]]!.floats, b: buffers[inputs[1]]!.floats, c: buffers[scores]!.floats,
                                   shape: MatmulShape(batch: batchHeads, m: tq, n: tk, k: d, transposeB: true))
        })
        let mask = causal ? CausalMask(period: tq, offset: tk - tq) : nil
        ops.append(LoweredOp(label: label + " softmax", inputs: [scores], output: probabilities) { [unowned self] buffers in
            try self.softmax.encode(input: buffers[scores]!.floats, output: buffers[probabilities]!.floats,
                                    rows: batchHeads * tq, cols: tk, scale: scale, causalMask: mask)
        })
        ops.append(LoweredOp(label: label + " ·v", inputs: [probabilities, inputs[2]], output: output) { [unowned self] buffers in
            try self.matmul.encode(a: buffers[probabilities]!.floats, b: buffers[inputs[2]]!.floats,
                                   c: buffers[output]!.floats, shape: MatmulShape(batch: batchHeads, m: tq, n: dv, k: tk))
        })
    }
}

/// A short name for an op, for labels and traces.
func opName(_ op: Op) -> String {
    switch op {
    case .input: return "input"
    case .variable: return "variable"
    case .constant: return "constant"
    case .unary(let unary): return unary.rawValue
    case .binary(let binary): return binary.rawValue
    case .powScalar(let p): return "pow\(p)"
    case .compare(let compare): return compare.rawValue
    case .select: return "select"
    case let .matmul(a, b): return "matmul" + (a ? "ᵀ" : "") + (b ? "·ᵀ" : "")
    case .reduce(let kind, let axis, _): return "\(kind.rawValue)[\(axis)]"
    case .softmax: return "softmax"
    case .logSoftmax: return "logSoftmax"
    case .layerNorm: return "layerNorm"
    case .rmsNorm: return "rmsNorm"
    case .embedding: return "embedding"
    case .reshape: return "reshape"
    case .permute(let axes): return "permute\(axes)"
    case .slice(let axis, let start, let end): return "slice[\(axis): \(start)..<\(end)]"
    case .concat(let axis): return "concat[\(axis)]"
    case .crossEntropy: return "crossEntropy"
    case .attention(let causal, _): return causal ? "attention(causal)" : "attention"
    case .cacheWrite: return "cacheWrite"
    case .cachedAttention: return "cachedAttention"
    case let .attentionGrad(causal, _, operand): return "attentionGrad(\(operand.rawValue)\(causal ? ", causal" : ""))"
    case .embeddingGrad: return "embeddingGrad"
    case .crossEntropyGrad: return "crossEntropyGrad"
    case .dropoutMask(_, let keep, _): return "dropoutMask(keep \(keep))"
    }
}

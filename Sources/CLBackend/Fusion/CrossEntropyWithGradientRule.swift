import TensorGraph

/// `crossEntropy(logits, targets)` and `crossEntropyGrad(logits, targets, upstream)` with the same
/// operands, on the CPU variant: the gradient of the mean needs only the count of rows, never the
/// mean, so one kernel writes both, and `sum(grad, axis 0)` (the bias gradient of the logits'
/// layer) too when the graph has it. The pair is lowered at the loss, so the upstream gradient
/// must come before it in the graph (the autograd seed is a constant; an upstream computed from
/// the loss itself comes after it and keeps the separate launches).
///
/// Pairs are found through the readers of each gradient's logits, so the rule is linear in the
/// graph's size.
struct CrossEntropyWithGradientRule: FusionRule {
    /// Whether the device runs the variant with the fused loss-and-gradient kernel.
    let enabled: Bool

    static func isEnabled(in environment: FamilyEnvironment) -> Bool {
        environment.variant(cpu: CrossEntropyFamily.Variant.cpu, gpu: .gpu) == .cpu
    }

    func fusions(in context: FusionContext) -> [Fusion] {
        guard enabled else { return [] }
        var fusions: [Fusion] = []
        var pairedLosses = Set<NodeID>()
        for grad in context.liveNodes {
            guard case .crossEntropyGrad(let ignoreIndex) = grad.op else { continue }
            let logits = context.node(grad.inputs[0]).shape
            guard logits[0] > 0, logits[1] > 0 else { continue }
            let operands = Array(grad.inputs[0..<2])
            guard let loss = context.readers(of: grad.inputs[0]).first(where: { candidate in
                !pairedLosses.contains(candidate) && context.node(candidate).op == .crossEntropy(ignoreIndex: ignoreIndex)
                    && context.node(candidate).inputs == operands
            }) else { continue }
            let upstream = grad.inputs[2]
            if !context.node(upstream).op.isConstant && upstream > loss { continue }
            let columnSum = context.readers(of: grad.id).first { candidate in
                context.node(candidate).inputs == [grad.id] && context.node(candidate).op.isReduce(.sum, axis: 0)
            }
            pairedLosses.insert(loss)
            let fused = LossWithGradient(ignoreIndex: ignoreIndex, grad: grad.id, upstream: upstream, columnSum: columnSum)
            fusions.append(Fusion(root: loss, absorbed: [grad.id] + (columnSum.map { [$0] } ?? []),
                                  reads: operands + [upstream]) { lowering in
                try lowering.lowerCrossEntropyWithGradient(lowering.graph.node(loss), fused)
            })
        }
        return fusions
    }
}

/// What ``CrossEntropyWithGradientRule`` matched: the loss's gradient node, its upstream gradient,
/// and the column sum folded into the same launch.
struct LossWithGradient {
    let ignoreIndex: Int32?
    let grad: NodeID
    let upstream: NodeID
    /// `sum(grad, axis 0)`, when the graph has it.
    let columnSum: NodeID?
}

extension PlanLowering {
    /// One launch writing the loss (the value of `node`), the gradient and, when matched, its
    /// column sums.
    func lowerCrossEntropyWithGradient(_ node: Node, _ fused: LossWithGradient) throws {
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
        let ignoreIndex = fused.ignoreIndex
        ops.append(LoweredOp(label: label, inputs: [logits, targets, upstream], output: loss,
                             extraOutputs: [grad] + (columnSum.map { [$0] } ?? [])) { [unowned self] buffers in
            try self.crossEntropy.encodeLossAndGrad(
                logits: try buffers.floats(logits), targets: try buffers.ints(targets), upstream: try buffers.floats(upstream),
                loss: try buffers.floats(loss), grad: try buffers.floats(grad), columnSums: try columnSum.map { try buffers.floats($0) },
                rows: rows, classes: classes, ignoreIndex: ignoreIndex, errorFlag: flag)
        })
    }
}

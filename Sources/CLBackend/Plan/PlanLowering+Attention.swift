import CLRuntime
import TensorGraph

extension PlanLowering {
    /// Causal attention with more queries than keys. The first `Tq − Tk` queries see no key and, as
    /// the op defines, average v uniformly (neither kernel path does that: the fused kernels reject
    /// the shape, the masked softmax writes 0 for a fully masked row); the last `Tk` queries see
    /// keys exactly as with a square causal mask. Lowered as the mean of v over the keys copied into
    /// the first rows, and causal attention of a contiguous copy of the last `Tk` queries copied
    /// into the rest.
    private func lowerAttentionWithUnseenQueries(_ node: Node, inputs: [ValueID], shapes: [Shape], output: ValueID, scale: Float,
                                                 label: String) throws {
        let q = shapes[0], k = shapes[1], v = shapes[2]
        let tq = q[-2], tk = k[-2], d = q[-1], dv = v[-1]
        let batchHeads = q.count / max(tq * d, 1), unseen = tq - tk
        let meanV = newIntermediate(count: batchHeads * dv)
        let meanLabel = label + " (mean of v for the \(unseen) queries that see no key)"
        ops.append(LoweredOp(label: meanLabel, inputs: [inputs[2]], output: meanV) { [unowned self] buffers in
            try self.reduce.encode(input: buffers.floats(inputs[2]), output: buffers.floats(meanV), outer: batchHeads,
                                   length: tk, inner: dv, kind: .mean)
        })
        let lastQueries = newIntermediate(count: batchHeads * tk * d)
        let sliceLabel = label + " (last \(tk) queries)"
        ops.append(LoweredOp(label: sliceLabel, inputs: [inputs[0]], output: lastQueries) { [unowned self] buffers in
            try self.layout.encodeCopy(input: buffers.memory(inputs[0]), output: buffers.memory(lastQueries), isInt: false,
                                       dims: [batchHeads, tk, d], inputStrides: [tq * d, d, 1], outputStrides: [tk * d, d, 1],
                                       inputOffset: unseen * d, label: sliceLabel)
        })
        let lastRows = newIntermediate(count: batchHeads * tk * dv)
        try lowerAttention(node, inputs: [lastQueries, inputs[1], inputs[2]], shapes: [Shape([batchHeads, tk, d]), k, v],
                           output: lastRows, causal: true, scale: scale, label: label)
        let joinLabel = label + " (rows joined)"
        ops.append(LoweredOp(label: joinLabel, inputs: [meanV, lastRows], output: output) { [unowned self] buffers in
            let out = try buffers.memory(output)
            return try self.layout.encodeCopy(input: buffers.memory(meanV), output: out, isInt: false,
                                              dims: [batchHeads, unseen, dv], inputStrides: [dv, 0, 1],
                                              outputStrides: [tq * dv, dv, 1], label: joinLabel)
                + self.layout.encodeCopy(input: buffers.memory(lastRows), output: out, isInt: false,
                                         dims: [batchHeads, tk, dv], inputStrides: [tk * dv, dv, 1],
                                         outputStrides: [tq * dv, dv, 1], outputOffset: unseen * dv, label: joinLabel)
        })
    }

    /// The attention nodes whose output a live ``Op/attentionGrad(causal:scale:operand:)`` reads as
    /// its y, with the same q, k, v and parameters: their backward can reuse statistics the forward saves.
    static func attentionsWithBackward(in context: FusionContext) -> Set<NodeID> {
        var found: Set<NodeID> = []
        for node in context.liveNodes {
            guard case let .attentionGrad(causal, scale, _) = node.op else { continue }
            let forward = context.node(node.inputs[3])
            guard case .attention(causal, scale) = forward.op, forward.inputs == Array(node.inputs.prefix(3)) else { continue }
            found.insert(forward.id)
        }
        return found
    }

    /// An ``Op/attention(causal:scale:)`` node, reading the operands in `operandViews` in place
    /// (``AttentionOperandViewRule``; they are recorded for the backward, which reads them so too).
    func lowerAttention(_ node: Node, operandViews: [NodeID: AttentionOperandView]) throws {
        guard case let .attention(causal, scale) = node.op else { preconditionFailure("not an attention") }
        attentionOperandViews.merge(operandViews) { _, new in new }
        let (inputs, layouts) = attentionOperands(node.inputs)
        let output = newIntermediate(count: node.shape.count)
        valueOfNode[node.id] = output
        try lowerAttention(node, inputs: inputs, shapes: node.inputs.map { graph.node($0).shape }, output: output,
                           causal: causal, scale: scale, savingStatistics: attentionsWithBackward.contains(node.id),
                           layouts: layouts, label: describe(node))
    }

    /// The values attention reads for `operands` (q, k, v, then any others): each operand's own, or
    /// the value it is read in place from; and q's, k's, v's row layouts when any is read in place.
    func attentionOperands(_ operands: [NodeID]) -> ([ValueID], AttentionOperandLayouts?) {
        let inputs = operands.map { attentionOperandViews[$0].map { value(of: $0.base) } ?? value(of: $0) }
        guard operands.prefix(3).contains(where: { attentionOperandViews[$0] != nil }) else { return (inputs, nil) }
        func rows(_ id: NodeID) -> AttentionOperandRows {
            let shape = graph.node(id).shape
            return attentionOperandViews[id]?.rows ?? .contiguous(rows: shape[-2], width: shape[-1])
        }
        return (inputs, AttentionOperandLayouts(q: rows(operands[0]), k: rows(operands[1]), v: rows(operands[2])))
    }

    /// Attention forward: the fused kernel unless `AttentionLowering.unfused` is asked for, then
    /// q·kᵀ, a masked scaled softmax and ·v as three launches. With `savingStatistics` (the plan
    /// holds this attention's backward) a forward variant that can also stores each query's
    /// softmax statistics for the backward (``savedAttentionStatistics``).
    func lowerAttention(_ node: Node, inputs: [ValueID], shapes: [Shape], output: ValueID, causal: Bool, scale: Float,
                        savingStatistics: Bool = false, layouts: AttentionOperandLayouts? = nil, label: String) throws {
        let q = shapes[0], k = shapes[1], v = shapes[2]
        let tq = q[-2], tk = k[-2], d = q[-1], dv = v[-1]
        let batchHeads = q.count / max(tq * d, 1)
        // Operands read in place reach only the fused kernel (AttentionOperandViewRule's conditions).
        precondition(layouts == nil || (options.attention != .unfused && !(causal && tq > tk)), "attention operands read in place")
        if causal && tq > tk && tk > 0 {
            return try lowerAttentionWithUnseenQueries(node, inputs: inputs, shapes: shapes, output: output, scale: scale,
                                                       label: label)
        }
        let fused = options.attention != .unfused
        if fused {
            let attentionShape = AttentionShape(batchHeads: batchHeads, queries: tq, keys: tk, headDim: d, valueDim: dv,
                                                causal: causal, scale: scale)
            let backward = attentionBackwardVariant(causal: causal, queries: tq, keys: tk)
            let statistics = savingStatistics && AttentionFamily.savesStatistics(attention.chosenVariant)
                && AttentionBackwardFamily.usesSavedStatistics(backward) ? newIntermediate(count: batchHeads * tq) : nil
            if let statistics { savedAttentionStatistics[node.id] = statistics }
            ops.append(LoweredOp(label: label + " fused", inputs: inputs, output: output,
                                 extraOutputs: statistics.map { [$0] } ?? []) { [unowned self] buffers in
                try self.attention.encode(q: buffers.floats(inputs[0]), k: buffers.floats(inputs[1]),
                                          v: buffers.floats(inputs[2]), output: buffers.floats(output),
                                          statistics: statistics.map { try buffers.floats($0) }, layouts: layouts,
                                          shape: attentionShape)
            })
            return
        }
        // Unfused: scores = q·kᵀ (T×T in memory), masked scaled softmax, then ·v.
        let scores = newIntermediate(count: batchHeads * tq * tk)
        let probabilities = newIntermediate(count: batchHeads * tq * tk)
        ops.append(LoweredOp(label: label + " q·kᵀ", inputs: [inputs[0], inputs[1]], output: scores) { [unowned self] buffers in
            try self.matmul.encode(a: buffers.floats(inputs[0]), b: buffers.floats(inputs[1]), c: buffers.floats(scores),
                                   shape: MatmulShape(batch: batchHeads, m: tq, n: tk, k: d, transposeB: true))
        })
        let mask = causal ? CausalMask(period: tq, offset: tk - tq) : nil
        ops.append(LoweredOp(label: label + " softmax", inputs: [scores], output: probabilities) { [unowned self] buffers in
            try self.softmax.encode(input: buffers.floats(scores), output: buffers.floats(probabilities),
                                    rows: batchHeads * tq, cols: tk, scale: scale, causalMask: mask)
        })
        ops.append(LoweredOp(label: label + " ·v", inputs: [probabilities, inputs[2]], output: output) { [unowned self] buffers in
            try self.matmul.encode(a: buffers.floats(probabilities), b: buffers.floats(inputs[2]),
                                   c: buffers.floats(output), shape: MatmulShape(batch: batchHeads, m: tq, n: dv, k: tk))
        })
    }
}

import CLRuntime
import TensorGraph

extension PlanLowering {
    /// The backward path of attention: the forced `attention_backward` variant when given, else
    /// the decomposition for `AttentionLowering.unfused` and the fused kernels
    /// for `.fused` and `.automatic`. Causal attention with Tq > Tk always takes the fused kernels
    /// (the masked softmax of the decomposition writes 0, not the uniform row, for a query that
    /// sees no key).
    func attentionBackwardVariant(causal: Bool, queries: Int, keys: Int) -> AttentionBackwardFamily.Variant {
        let fused = AttentionBackwardFamily.automaticVariant(for: environment.deviceClass)
        let chosen = environment.variant(automatic: options.attention == .unfused ? .decomposed : fused)
        return chosen == .decomposed && causal && queries > keys ? fused : chosen
    }

    /// The ``Op/attentionGrad(causal:scale:operand:)`` nodes of one attention (same operands and
    /// parameters, as ``OperandGradientGroupRule/attention`` groups them), lowered together: one fused op
    /// writing dq, dk and dv (each node's value), or the decomposition. With `destination` (the
    /// three gradients of ``AttentionGradientConcatRule``), the fused op writes their rows where the
    /// layouts say in that concatenation's value instead.
    func lowerAttentionBackward(_ group: [NodeID], into destination: (concat: NodeID, rows: AttentionOperandLayouts)? = nil) throws {
        let node = graph.node(group[0])
        guard case let .attentionGrad(causal, scale, _) = node.op else { preconditionFailure("not an attentionGrad") }
        var values: [AttentionOperand: ValueID] = [:]
        let concatenation = destination.map { newIntermediate(count: graph.node($0.concat).shape.count) }
        if let destination, let concatenation { valueOfNode[destination.concat] = concatenation }
        for sibling in group.map(graph.node) {
            guard case let .attentionGrad(_, _, operand) = sibling.op else { preconditionFailure("not an attentionGrad") }
            if let concatenation {
                values[operand] = concatenation
                continue
            }
            let value = values[operand] ?? newIntermediate(count: sibling.shape.count)
            values[operand] = value
            valueOfNode[sibling.id] = value
        }
        let (inputs, layouts) = attentionOperands(node.inputs)
        let q = graph.node(node.inputs[0]).shape, k = graph.node(node.inputs[1]).shape, v = graph.node(node.inputs[2]).shape
        let tq = q[-2], tk = k[-2], d = q[-1], dv = v[-1]
        let batchHeads = q.dims.dropLast(2).reduce(1, *)
        let shape = AttentionShape(batchHeads: batchHeads, queries: tq, keys: tk, headDim: d, valueDim: dv, causal: causal,
                                   scale: scale)
        let outputs = concatenation.map { [$0] } ?? [AttentionOperand.query, .key, .value].compactMap { values[$0] }
        let label = describe(node) + " (" + [AttentionOperand.query, .key, .value].filter { values[$0] != nil }
            .map { "d" + String($0.rawValue.prefix(1)) }.joined(separator: ", ") + ")"
        let variant = attentionBackwardVariant(causal: causal, queries: tq, keys: tk)
        precondition((layouts == nil && destination == nil) || AttentionBackwardFamily.readsOperandsInPlace(variant),
                     "attention operands read or gradients written in place")
        if variant == .decomposed {
            return lowerDecomposedAttentionBackward(inputs: inputs, gradients: values, shape: shape, label: label)
        }
        let (dqValue, dkValue, dvValue) = (values[.query], values[.key], values[.value])
        // The forward's statistics, when it saved them for this backward (same q, k, v: see
        // attentionsWithBackward); read like an input, so they live until this op.
        let saved = AttentionBackwardFamily.usesSavedStatistics(variant) ? savedAttentionStatistics[node.inputs[3]] : nil
        ops.append(LoweredOp(label: label + " fused", inputs: inputs + (saved.map { [$0] } ?? []), output: outputs[0],
                             extraOutputs: Array(outputs.dropFirst())) { [unowned self] buffers in
            try self.attentionBackward.encode(
                q: buffers.floats(inputs[0]), k: buffers.floats(inputs[1]), v: buffers.floats(inputs[2]),
                y: buffers.floats(inputs[3]), dy: buffers.floats(inputs[4]),
                dq: dqValue.map { try buffers.floats($0) }, dk: dkValue.map { try buffers.floats($0) },
                dv: dvValue.map { try buffers.floats($0) }, savedStatistics: saved.map { try buffers.floats($0) },
                layouts: layouts, gradientLayouts: destination?.rows, shape: shape, variant: variant)
        })
    }

    /// The decomposition, each step its own launch with the Tq×Tk matrices in memory:
    /// p = softmax(scale·q·kᵀ + mask), dv = pᵀ·dy, dp = dy·vᵀ, ds = scale·p ⊙ (dp − Σ p·dp),
    /// dq = ds·k, dk = dsᵀ·q (only the products a requested gradient needs).
    private func lowerDecomposedAttentionBackward(inputs: [ValueID], gradients: [AttentionOperand: ValueID], shape: AttentionShape,
                                                  label: String) {
        let bh = shape.batchHeads, tq = shape.queries, tk = shape.keys, d = shape.headDim, dvw = shape.valueDim
        let (q, k, v, dy) = (inputs[0], inputs[1], inputs[2], inputs[4])
        let scores = newIntermediate(count: bh * tq * tk), p = newIntermediate(count: bh * tq * tk)
        ops.append(LoweredOp(label: label + " q·kᵀ", inputs: [q, k], output: scores) { [unowned self] buffers in
            try self.matmul.encode(a: buffers.floats(q), b: buffers.floats(k), c: buffers.floats(scores),
                                   shape: MatmulShape(batch: bh, m: tq, n: tk, k: d, transposeB: true))
        })
        let mask = shape.causal ? CausalMask(period: tq, offset: tk - tq) : nil
        ops.append(LoweredOp(label: label + " softmax", inputs: [scores], output: p) { [unowned self] buffers in
            try self.softmax.encode(input: buffers.floats(scores), output: buffers.floats(p), rows: bh * tq, cols: tk,
                                    scale: shape.scale, causalMask: mask)
        })
        if let dv = gradients[.value] {
            ops.append(LoweredOp(label: label + " pᵀ·dy", inputs: [p, dy], output: dv) { [unowned self] buffers in
                try self.matmul.encode(a: buffers.floats(p), b: buffers.floats(dy), c: buffers.floats(dv),
                                       shape: MatmulShape(batch: bh, m: tk, n: dvw, k: tq, transposeA: true))
            })
        }
        guard gradients[.query] != nil || gradients[.key] != nil else { return }
        let dp = newIntermediate(count: bh * tq * tk), ds = newIntermediate(count: bh * tq * tk)
        ops.append(LoweredOp(label: label + " dy·vᵀ", inputs: [dy, v], output: dp) { [unowned self] buffers in
            try self.matmul.encode(a: buffers.floats(dy), b: buffers.floats(v), c: buffers.floats(dp),
                                   shape: MatmulShape(batch: bh, m: tq, n: tk, k: dvw, transposeB: true))
        })
        ops.append(LoweredOp(label: label + " softmax backward", inputs: [p, dp], output: ds) { [unowned self] buffers in
            try self.attentionBackward.encodeSoftmaxBackward(p: buffers.floats(p), dp: buffers.floats(dp),
                                                             ds: buffers.floats(ds), rows: bh * tq, cols: tk, scale: shape.scale)
        })
        if let dq = gradients[.query] {
            ops.append(LoweredOp(label: label + " ds·k", inputs: [ds, k], output: dq) { [unowned self] buffers in
                try self.matmul.encode(a: buffers.floats(ds), b: buffers.floats(k), c: buffers.floats(dq),
                                       shape: MatmulShape(batch: bh, m: tq, n: d, k: tk))
            })
        }
        if let dk = gradients[.key] {
            ops.append(LoweredOp(label: label + " dsᵀ·q", inputs: [ds, q], output: dk) { [unowned self] buffers in
                try self.matmul.encode(a: buffers.floats(ds), b: buffers.floats(q), c: buffers.floats(dk),
                                       shape: MatmulShape(batch: bh, m: tk, n: d, k: tq, transposeA: true))
            })
        }
    }
}

import TensorGraph

/// The gradient of a fused QKV projection's output, `concat(merge(dq), merge(dk), merge(dv))` where
/// merge permutes and reshapes an attention's query, key and value gradients back into [.., T, C]
/// rows: the attention backward writes dq, dk and dv rows straight into their places in the
/// concatenation (``AttentionOperandRows`` as the gradients' layouts), with no intermediate per
/// gradient and no copies. Only where the chosen backward kernel writes rows in place.
struct AttentionGradientConcatRule: NodeFusionRule {
    /// Whether the backward variant for (causal, Tq, Tk) writes rows in place.
    let backwardWritesInPlace: (_ causal: Bool, _ queries: Int, _ keys: Int) -> Bool

    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard case .concat = node.op, node.dtype == .f32, node.inputs.count == 3, !context.isClaimed(node.id) else { return nil }
        var gradients: [AttentionOperand: (node: NodeID, rows: AttentionOperandRows)] = [:]
        var absorbed: [NodeID] = []
        var first: Node?
        for (part, region) in ConcatOfViewsRule.regions(of: node, in: context.graph) {
            var view = region, current = part, chain: [NodeID] = []
            while context.node(current).op.isPermute || context.node(current).op.isReshape {
                let merge = context.node(current)
                guard context.isOnlyRead(current), !context.isClaimed(current),
                      let inverse = view.inverting(merge.op, toward: context.node(merge.inputs[0]).shape) else { return nil }
                chain.append(current)
                (view, current) = (inverse, merge.inputs[0])
            }
            let gradient = context.node(current)
            guard case let .attentionGrad(causal, scale, operand) = gradient.op, context.isOnlyRead(current),
                  !context.isClaimed(current), gradients[operand] == nil,
                  let rows = AttentionOperandRows(view, within: node.shape.count) else { return nil }
            if let first {
                guard first.inputs == gradient.inputs, case .attentionGrad(causal, scale, _) = first.op else { return nil }
            } else {
                first = gradient
            }
            gradients[operand] = (current, rows)
            absorbed += chain + [current]
        }
        guard let first, case let .attentionGrad(causal, _, _) = first.op,
              backwardWritesInPlace(causal, context.node(first.inputs[0]).shape[-2], context.node(first.inputs[1]).shape[-2]),
              let dq = gradients[.query], let dk = gradients[.key], let dv = gradients[.value] else { return nil }
        let rows = AttentionOperandLayouts(q: dq.rows, k: dk.rows, v: dv.rows)
        return Fusion(root: node.id, absorbed: absorbed, reads: first.inputs) { lowering in
            try lowering.lowerAttentionBackward([dq.node, dk.node, dv.node], into: (node.id, rows))
        }
    }
}

extension StridedView {
    /// The view of `op`'s input (of `shape`) that this view of `op`'s result amounts to: a permute
    /// undone, a reshape split or merged back; nil for other ops or merges the strides do not allow.
    func inverting(_ op: Op, toward shape: Shape) -> StridedView? {
        switch op {
        case .permute(let axes):
            var inverse = [Int](repeating: 0, count: axes.count)
            for (position, axis) in axes.enumerated() { inverse[axis] = position }
            return StridedView(offset: offset, dims: inverse.map { dims[$0] }, strides: inverse.map { strides[$0] })
        case .reshape:
            return reshaped(shape.dims)
        default:
            return nil
        }
    }
}

import TensorGraph

/// Attention reading q, k and v where they lie: an operand made by slicing, reshaping and permuting
/// another value (the heads of a fused QKV projection, [B, T, 3C] → [B, H, T, hs]) and read only by
/// this attention and its backward becomes a row layout of that value (``AttentionOperandRows``)
/// instead of a permuted copy, which the forward and the backward both read: a launch and a copy
/// of the operand fewer each. Only where the chosen kernels read rows in place.
struct AttentionOperandViewRule: NodeFusionRule {
    /// Whether the forward variant reads operands in place (and attention is fused at all).
    let forwardReadsInPlace: Bool
    /// Whether the backward variant for (causal, Tq, Tk) does.
    let backwardReadsInPlace: (_ causal: Bool, _ queries: Int, _ keys: Int) -> Bool

    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard forwardReadsInPlace, case let .attention(causal, scale) = node.op, !context.isClaimed(node.id) else { return nil }
        let qkv = Array(node.inputs.prefix(3))
        let tq = context.node(qkv[0]).shape[-2], tk = context.node(qkv[1]).shape[-2]
        guard !(causal && tq > tk) else { return nil }   // that path copies the last queries out
        let backward = context.readers(of: node.id).filter { context.node($0).op.isAttentionGrad }
        for reader in backward {
            let grad = context.node(reader)
            guard case .attentionGrad(causal, scale, _) = grad.op, Array(grad.inputs.prefix(3)) == qkv, grad.inputs[3] == node.id,
                  !grad.inputs[4...].contains(where: qkv.contains) else { return nil }
        }
        if !backward.isEmpty && !backwardReadsInPlace(causal, tq, tk) { return nil }
        let attentionNodes = Set([node.id] + backward)
        var views: [NodeID: AttentionOperandView] = [:]
        var absorbed: [NodeID] = []
        for operand in Set(qkv) {
            guard context.readers(of: operand).allSatisfy(attentionNodes.contains), !context.outputs.contains(operand),
                  let (view, chain) = Self.rows(of: operand, in: context) else { continue }
            views[operand] = view
            absorbed += chain
        }
        guard !views.isEmpty else { return nil }
        let reads = qkv.map { views[$0]?.base ?? $0 }
        return Fusion(root: node.id, absorbed: absorbed, reads: reads) { lowering in
            try lowering.lowerAttention(node, operandViews: views)
        }
    }

    /// `operand` as rows of the value its chain of layout views starts from, with the chain's
    /// nodes; nil when it is no such chain or the rows are not contiguous runs of its last axis.
    static func rows(of operand: NodeID, in context: FusionContext) -> (AttentionOperandView, [NodeID])? {
        var chain: [NodeID] = []
        var current = operand
        while context.node(current).op.isLayoutView, !context.isClaimed(current),
              current == operand || (context.isOnlyRead(current)) {
            chain.append(current)
            current = context.node(current).inputs[0]
        }
        let base = context.node(current)
        guard !chain.isEmpty, base.dtype == .f32 else { return nil }
        var view = StridedView(contiguous: base.shape.dims)
        for id in chain.reversed() {
            guard let next = view.applying(context.node(id).op, producing: context.node(id).shape) else { return nil }
            view = next
        }
        guard let rows = AttentionOperandRows(view, within: base.shape.count) else { return nil }
        return (AttentionOperandView(base: base.id, rows: rows), chain)
    }
}

extension AttentionOperandRows {
    /// The rows of a [BH, T, W] or [B, H, T, W] view whose last axis is contiguous, if they lie
    /// within `count` elements.
    init?(_ view: StridedView, within count: Int) {
        guard view.strides.last == 1 || view.dims.last == 1 else { return nil }
        switch view.dims.count {
        case 3: self.init(offset: view.offset, heads: 1, batchStride: view.strides[0], headStride: 0, rowStride: view.strides[1])
        case 4: self.init(offset: view.offset, heads: view.dims[1], batchStride: view.strides[0], headStride: view.strides[1],
                          rowStride: view.strides[2])
        default: return nil
        }
        let dims = view.dims
        guard let extent = extent(batchHeads: dims.dropLast(2).reduce(1, *), rows: dims[dims.count - 2], width: dims[dims.count - 1]),
              extent <= count else { return nil }
    }
}

/// An attention operand read in place: the value its rows lie in, and where.
struct AttentionOperandView {
    let base: NodeID
    let rows: AttentionOperandRows
}

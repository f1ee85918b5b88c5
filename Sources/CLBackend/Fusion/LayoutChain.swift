import TensorGraph

/// A value read through a chain of slices, permutes and reshapes that nothing else reads: the
/// node the chain starts from, the view of it the chain amounts to, and the chain's nodes (which
/// a copy reading the view absorbs).
///
/// The view's dims are the value's, except when the chain ends in a reshape that merges axes the
/// chain made non-contiguous (merged heads, [B, T, H, hs] → [B·T, H·hs]): then the view keeps the
/// dims before that reshape, and the copy splits its destination's axes to match instead.
struct LayoutChain {
    let base: NodeID
    let view: StridedView
    let nodes: [NodeID]

    /// How the value of `id` can be read: through the chain of single-read, unclaimed layout nodes
    /// ending at `id` (then `nodes` holds them), or as `id`'s own contiguous value. With
    /// `deferringFinalReshape`, a last reshape that is no view of the chain is absorbed with the
    /// view left in the dims before it.
    static func reading(_ id: NodeID, in context: FusionContext, deferringFinalReshape: Bool = false) -> LayoutChain {
        let node = context.node(id)
        let itself = LayoutChain(base: id, view: StridedView(contiguous: node.shape.dims), nodes: [])
        guard node.op.isLayoutView, context.isOnlyRead(id), !context.isClaimed(id) else { return itself }
        let input = reading(node.inputs[0], in: context)
        if let view = input.view.applying(node.op, producing: node.shape) {
            return LayoutChain(base: input.base, view: view, nodes: input.nodes + [id])
        }
        guard deferringFinalReshape, node.op.isReshape, !input.nodes.isEmpty else { return itself }
        return LayoutChain(base: input.base, view: input.view, nodes: input.nodes + [id])
    }

    /// The chain a copy producing `node` (a slice or permute, or a concatenation's part) reads
    /// through: `node` applied to the chain reading its input.
    static func ending(at node: Node, in context: FusionContext) -> LayoutChain? {
        let input = reading(node.inputs[0], in: context)
        guard let view = input.view.applying(node.op, producing: node.shape) else { return nil }
        return LayoutChain(base: input.base, view: view, nodes: input.nodes)
    }

    /// Whether `id` is inside a longer chain: read once, by a copy (slice, permute, concat) or by a
    /// reshape that is itself inside one. The rules match at the chain's last copy instead.
    static func isInterior(_ id: NodeID, in context: FusionContext) -> Bool {
        guard context.isOnlyRead(id), !context.isClaimed(id) else { return false }
        let reader = context.node(context.readers(of: id)[0])
        switch reader.op {
        case .slice, .permute, .concat: return true
        case .reshape: return isInterior(reader.id, in: context)
        default: return false
        }
    }
}

extension Op {
    /// Slice, permute and reshape: ops whose result is a strided view of their input.
    var isLayoutView: Bool {
        switch self {
        case .slice, .permute, .reshape: return true
        default: return false
        }
    }
}

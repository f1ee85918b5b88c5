import TensorGraph

/// A slice or permute whose input is a chain of slices, permutes and reshapes read by nothing
/// else, as one strided copy from the chain's start (a head split: slice of the QKV projection,
/// reshape, permute). Matches at the chain's last copy only; concatenations take their parts'
/// chains themselves (``ConcatOfViewsRule``).
struct LayoutChainRule: NodeFusionRule {
    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        switch node.op {
        case .slice, .permute: break
        default: return nil
        }
        guard !LayoutChain.isInterior(node.id, in: context), let chain = LayoutChain.ending(at: node, in: context),
              !chain.nodes.isEmpty else { return nil }
        return Fusion(root: node.id, absorbed: chain.nodes, reads: [chain.base]) { lowering in
            lowering.lowerLayoutCopy(node, reading: chain)
        }
    }
}

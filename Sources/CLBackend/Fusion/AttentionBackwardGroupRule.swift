import TensorGraph

/// The ``Op/attentionGrad(causal:scale:operand:)`` nodes of one attention (same operands and
/// parameters) as one lowering at the first live one: one fused launch writing dq, dk and dv, or
/// the decomposition computing the products they share once. Every later sibling in the graph
/// joins the group.
struct AttentionBackwardGroupRule: FusionRule {
    private struct Key: Hashable {
        let inputs: [NodeID]
        let causal: Bool
        /// The scale's bits (−0 as +0): equal scales group together, NaN included.
        let scale: UInt32
    }

    func fusions(in context: FusionContext) -> [Fusion] {
        var groups: [Key: [NodeID]] = [:], keys: [Key] = []
        for node in context.graph.nodes {
            guard case let .attentionGrad(causal, scale, _) = node.op else { continue }
            let key = Key(inputs: node.inputs, causal: causal, scale: (scale == 0 ? 0 : scale).bitPattern)
            if groups[key] != nil {
                groups[key]?.append(node.id)
            } else if context.live.contains(node.id) {
                groups[key] = [node.id]
                keys.append(key)
            }
        }
        return keys.compactMap { groups[$0] }.map { group in
            Fusion(root: group[0], absorbed: Array(group.dropFirst()), reads: context.node(group[0]).inputs) { lowering in
                try lowering.lowerAttentionBackward(group)
            }
        }
    }
}

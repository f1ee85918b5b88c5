import TensorGraph

/// The live nodes computing the gradients of one op's operands — same inputs and parameters, each
/// for another operand — as one lowering at the first of them. The backward kernels compute the operands' gradients from shared intermediates (the
/// attention's probabilities, a layer norm's row statistics), so one launch writes them all.
struct OperandGradientGroupRule: FusionRule {
    private struct Key: Hashable {
        let inputs: [NodeID]
        let parameters: [AnyHashable]
    }

    /// The parameters that must agree for two nodes to group; nil for a node this rule ignores.
    let parameters: (Op) -> [AnyHashable]?
    /// Lowers a group, in graph order.
    let lower: (PlanLowering, [NodeID]) throws -> Void

    func fusions(in context: FusionContext) -> [Fusion] {
        Self.groups(in: context, parameters: parameters).map { group in
            Fusion(root: group[0], absorbed: Array(group.dropFirst()), reads: context.node(group[0]).inputs) { lowering in
                try lower(lowering, group)
            }
        }
    }

    /// The groups of live nodes with equal inputs and `parameters`, each in graph order, in the order of their first nodes.
    static func groups(in context: FusionContext, parameters: (Op) -> [AnyHashable]?) -> [[NodeID]] {
        var groups: [Key: [NodeID]] = [:], keys: [Key] = []
        for node in context.liveNodes {
            guard let parameters = parameters(node.op) else { continue }
            let key = Key(inputs: node.inputs, parameters: parameters)
            if groups[key] == nil { keys.append(key) }
            groups[key, default: []].append(node.id)
        }
        return keys.compactMap { groups[$0] }
    }

    /// ``Op/attentionGrad(causal:scale:operand:)`` nodes of one attention: one fused launch writing
    /// dq, dk and dv, or the decomposition computing the products they share once.
    static let attention = OperandGradientGroupRule(
        parameters: { op in
            guard case let .attentionGrad(causal, scale, _) = op else { return nil }
            // The scale's bits (−0 as +0): equal scales group together, NaN included.
            return [causal, (scale == 0 ? 0 : scale).bitPattern]
        },
        lower: { lowering, group in try lowering.lowerAttentionBackward(group) })
}

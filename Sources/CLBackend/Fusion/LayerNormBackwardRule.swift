import TensorGraph

/// The ``Op/layerNormGrad(eps:operand:)`` nodes of one layer norm (grouped as
/// ``OperandGradientGroupRule`` groups gradients) as one lowering: dx, dgain and dbias in two
/// launches. When dx is read only by an add of a tensor shaped like it (the residual stream's
/// gradient joining the norm's), the rows kernel adds that tensor as it stores dx, and the add
/// takes no launch of its own.
struct LayerNormBackwardRule: FusionRule {
    func fusions(in context: FusionContext) -> [Fusion] {
        let groups = OperandGradientGroupRule.groups(in: context) { op in
            guard case .layerNormGrad(let eps, _) = op else { return nil }
            return [eps.bitPattern]
        }
        return groups.map { group in
            let inputs = context.node(group[0]).inputs
            if let (sum, addend) = Self.residualAdd(of: group, in: context) {
                return Fusion(root: sum, absorbed: group, reads: inputs + [addend]) { lowering in
                    try lowering.lowerLayerNormBackward(group, addingTo: (sum: sum, addend: addend))
                }
            }
            return Fusion(root: group[0], absorbed: Array(group.dropFirst()), reads: inputs) { lowering in
                try lowering.lowerLayerNormBackward(group, addingTo: nil)
            }
        }
    }

    /// The add that is dx's only reader, and its other operand, when that operand is an f32 tensor
    /// of dx's shape and nothing between the group and the add reads the group's other values (so
    /// the group can be lowered at the add's place).
    private static func residualAdd(of group: [NodeID], in context: FusionContext) -> (sum: NodeID, addend: NodeID)? {
        guard let dx = group.first(where: {
            if case .layerNormGrad(_, .input) = context.node($0).op { return true }
            return false
        }), context.isOnlyRead(dx) else { return nil }
        let sum = context.node(context.readers(of: dx)[0])
        guard sum.op.isAdd, !context.isClaimed(sum.id), sum.shape == context.node(dx).shape else { return nil }
        let addend = sum.inputs[0] == dx ? sum.inputs[1] : sum.inputs[0]
        guard addend != dx, context.node(addend).shape == sum.shape, context.node(addend).dtype == .f32,
              group.allSatisfy({ $0.index < sum.id.index }),
              group.allSatisfy({ context.readers(of: $0).allSatisfy { $0.index >= sum.id.index } }) else { return nil }
        return (sum.id, addend)
    }
}

import TensorGraph

/// `r + (matmul [+ bias])` with r shaped like the product (a residual connection, or gradients of
/// one tensor summed): the matmul kernel adds r as it stores C, a launch and a pass over C fewer.
/// The product must be read by nothing else and not be an output; an add that is itself a bias
/// add (``MatmulBiasRule``) is left to that rule.
struct ResidualEpilogueRule: NodeFusionRule {
    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard node.op.isAdd, node.dtype == .f32, MatmulBiasRule.biasAdd(node, in: context) == nil else { return nil }
        for (product, addend) in [(node.inputs[1], node.inputs[0]), (node.inputs[0], node.inputs[1])] where product != addend {
            guard context.isOnlyRead(product), context.node(product).shape == node.shape,
                  context.node(addend).shape == node.shape, context.node(addend).dtype == .f32,
                  var fusion = MatmulFusion.epilogueOperand(product, in: context) else { continue }
            fusion.activation = .residual
            fusion.aux = addend
            return fusion.fusion(root: node.id, in: context)
        }
        return nil
    }
}

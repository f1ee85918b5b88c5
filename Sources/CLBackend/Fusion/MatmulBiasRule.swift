import TensorGraph

/// `matmul + bias` with the bias a row vector over the product's last axis and the product read
/// by nothing else: the bias add runs inside the matmul kernel (the `linear` pattern), a launch
/// and a pass over C fewer. Quantized weights included (their kernels add a bias too).
struct MatmulBiasRule: NodeFusionRule {
    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard let biasAdd = Self.biasAdd(node, in: context) else { return nil }
        var fusion = MatmulFusion(matmul: biasAdd.matmul, bias: biasAdd.bias, biasAdd: node.id)
        fusion.norm = NormPrologueRule.norm(feeding: biasAdd.matmul, in: context)
        return fusion.fusion(root: node.id, in: context)
    }

    /// The matmul and bias of `node` when it is such a bias add (the epilogue rules wrap it too).
    static func biasAdd(_ node: Node, in context: FusionContext) -> (matmul: NodeID, bias: NodeID)? {
        guard node.op.isAdd, node.inputs.count == 2 else { return nil }
        for (product, bias) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
            let productNode = context.node(product), biasNode = context.node(bias)
            if productNode.op.isMatmul, context.isOnlyRead(product), productNode.shape == node.shape,
               biasNode.dtype == .f32, biasNode.shape.count == node.shape[-1], biasNode.shape.dims.last == node.shape[-1] {
                return (product, bias)
            }
        }
        return nil
    }
}

import TensorGraph

/// `g · (1 − y·y)` (autograd's tanh backward) where g is a float matmul read by nothing else and
/// `1` is a constant whose every value is 1: the matmul kernel reads y and stores the product, a
/// launch and a pass over [M, N] fewer (the MLP's dh·(1 − h²)). The kernel reads the matmul's A
/// from memory, so this epilogue takes no norm prologue.
struct TanhBackwardEpilogueRule: NodeFusionRule {
    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard node.op.isMul, node.dtype == .f32 else { return nil }
        for (product, factor) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
            let productNode = context.node(product), factorNode = context.node(factor)
            guard productNode.op.isMatmul, context.isOnlyRead(product), productNode.shape == node.shape,
                  !MatmulFusion.hasQuantizedWeight(product, in: context),
                  factorNode.op.isSub, context.isOnlyRead(factor),
                  context.node(factorNode.inputs[0]).op.isConstant(filledWith: 1),
                  context.node(factorNode.inputs[1]).op.isMul, context.isOnlyRead(factorNode.inputs[1])
            else { continue }
            let square = context.node(factorNode.inputs[1])
            let y = square.inputs[0]
            guard square.inputs[1] == y, context.node(y).shape == node.shape, context.node(y).dtype == .f32 else { continue }
            return MatmulFusion(matmul: product, activation: .tanhBackward, aux: y, epilogueNodes: [factor, square.id])
                .fusion(root: node.id, in: context)
        }
        return nil
    }
}

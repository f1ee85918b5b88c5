import TensorGraph

/// `g · geluSlope(x)` (autograd's gelu backward, recognised by building the same expression) where
/// g is a float matmul read by nothing else: the matmul kernel reads x and stores g·gelu′(x), a
/// launch and a pass over [M, N] fewer (the GPT MLP's dH = (dY·W_downᵀ)·gelu′(H)). The kernel reads
/// the matmul's A from memory, so this epilogue takes no norm prologue.
struct GeluBackwardEpilogueRule: NodeFusionRule {
    private let template = try? ExpressionTemplate(inputs: ["g", "x"]) { try $0[0] * geluSlope($0[1]) }

    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard node.op.isMul, node.dtype == .f32, let match = template?.match(at: node.id, in: context),
              let product = match.bindings["g"], let x = match.bindings["x"] else { return nil }
        let productNode = context.node(product), xNode = context.node(x)
        guard productNode.op.isMatmul, context.isOnlyRead(product), !context.isClaimed(product), productNode.shape == node.shape,
              !MatmulFusion.hasQuantizedWeight(product, in: context), xNode.shape == node.shape, xNode.dtype == .f32
        else { return nil }
        return MatmulFusion(matmul: product, activation: .geluBackward, aux: x,
                            epilogueNodes: match.computed.filter { $0 != node.id })
            .fusion(root: node.id, in: context)
    }
}

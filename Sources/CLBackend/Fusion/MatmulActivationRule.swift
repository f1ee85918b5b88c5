import TensorGraph

/// `act(matmul [+ bias])` for tanh, gelu, sigmoid and relu, where the pre-activation is read by
/// nothing else and is not an output: the matmul kernel applies `act` as it stores C, a launch
/// and a pass over C fewer (the MLP's hidden layer, the GPT's MLP at inference; in training
/// gelu's backward reads its input, so there the pre-activation is read twice and stays).
struct MatmulActivationRule: NodeFusionRule {
    static let activations: [UnaryOp: MatmulActivation] = [.tanh: .tanh, .gelu: .gelu, .sigmoid: .sigmoid, .relu: .relu]

    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard let op = node.op.unaryOp, let activation = Self.activations[op], node.dtype == .f32 else { return nil }
        let pre = node.inputs[0]
        guard context.isOnlyRead(pre), context.node(pre).shape == node.shape,
              var fusion = MatmulFusion.epilogueOperand(pre, in: context) else { return nil }
        fusion.activation = activation
        return fusion.fusion(root: node.id, in: context)
    }
}

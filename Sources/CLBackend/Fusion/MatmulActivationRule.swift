import TensorGraph

/// `act(matmul [+ bias])` for tanh, gelu, sigmoid and relu, where the pre-activation is read by
/// nothing else and is not an output: the matmul kernel applies `act` as it stores C, a launch
/// and a pass over C fewer (the MLP's hidden layer, the GPT's MLP at inference). A gelu whose
/// input others read too (in training, gelu's backward) still fuses: the kernel writes both the
/// pre-activation and the gelu (`geluStoringInput`), when every other reader comes after the gelu.
struct MatmulActivationRule: NodeFusionRule {
    static let activations: [UnaryOp: MatmulActivation] = [.tanh: .tanh, .gelu: .gelu, .sigmoid: .sigmoid, .relu: .relu]

    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard let op = node.op.unaryOp, let activation = Self.activations[op], node.dtype == .f32 else { return nil }
        let pre = node.inputs[0]
        guard context.node(pre).shape == node.shape, var fusion = MatmulFusion.epilogueOperand(pre, in: context) else { return nil }
        if context.isOnlyRead(pre) {
            fusion.activation = activation
        } else {
            // The stored pre-activation gets its value when the fusion lowers, at the gelu's place.
            let others = context.readers(of: pre).filter { $0 != node.id }
            guard activation == .gelu, fusion.norm == nil, !others.isEmpty, others.allSatisfy({ $0 > node.id }),
                  context.readerCount(of: pre) == others.count + 1 else { return nil }
            fusion.activation = .geluStoringInput
            fusion.storedInput = pre
        }
        return fusion.fusion(root: node.id, in: context)
    }
}

/// The gradient rule of fused attention.

/// The backward of ``Op/attention(causal:scale:)``: one ``Op/attentionGrad(causal:scale:operand:)``
/// node per operand that needs a gradient, all reading (q, k, v, y, dy). A backend computes the
/// nodes of one attention together, flash-attention style: p is recomputed from q and k a key
/// block at a time and the Tq×Tk matrix never exists, or (where measured faster, or asked for)
/// through the matmul → softmax → matmul decomposition.
func attentionGradient(q: Tensor, k: Tensor, v: Tensor, y: Tensor, causal: Bool, scale: Float, g: Tensor,
                       needs: [Bool]) throws -> [Tensor?] {
    let operands: [AttentionOperand] = [.query, .key, .value]
    return try operands.enumerated().map { index, operand in
        needs[index] ? try q.graph.apply(.attentionGrad(causal: causal, scale: scale, operand: operand), [q, k, v, y, g]) : nil
    }
}

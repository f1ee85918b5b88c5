/// The dispatch from an op to its gradient rule.

/// Gradients of `node`'s operands given the gradient `g` of its output: one entry per operand,
/// nil where `needs[k]` is false or the operand has no gradient (conditions, indices, targets).
/// Every returned tensor has its operand's exact shape.
func vectorJacobianProduct(_ node: Node, inputs x: [Tensor], output y: Tensor, gradient g: Tensor,
                           needs: [Bool]) throws -> [Tensor?] {
    switch node.op {
    case .input, .variable, .constant, .compare:
        return x.map { _ in nil }
    case .unary(let u):
        return [try unaryGradient(u, x: x[0], y: y, g: g)]
    case .powScalar(let p):
        return [try powGradient(p, x: x[0], g: g)]
    case .binary(let b):
        return try binaryGradient(b, a: x[0], b: x[1], y: y, g: g, needs: needs)
    case .select:
        return try selectGradient(condition: x[0], a: x[1], b: x[2], g: g, needs: needs)
    case .matmul(let tA, let tB):
        return try matmulGradient(a: x[0], b: x[1], transposeA: tA, transposeB: tB, g: g, needs: needs)
    case .reduce(let r, let axis, let keepDims):
        return [try reduceGradient(r, x: x[0], y: y, axis: axis, keepDims: keepDims, g: g)]
    case .softmax(let axis):
        return [try softmaxGradient(y: y, axis: axis, g: g)]
    case .logSoftmax(let axis):
        return [try logSoftmaxGradient(y: y, axis: axis, g: g)]
    case .layerNorm(let eps):
        return try layerNormGradient(x: x[0], gain: x[1], eps: eps, g: g, needs: needs)
    case .rmsNorm(let eps):
        return try rmsNormGradient(x: x[0], gain: x[1], eps: eps, g: g, needs: needs)
    case .proportionsNorm(let eps, let compression):
        return try proportionsNormGradient(x: x[0], gain: x[1], hasShift: x.count > 2, eps: eps, compression: compression,
                                           g: g, needs: needs)
    case .embedding:
        return [try embeddingGrad(indices: x[1], gradient: g, vocabularySize: x[0].shape[0]), nil]
    case .reshape:
        return [try g.reshape(x[0].shape)]
    case .permute(let axes):
        var inverse = [Int](repeating: 0, count: axes.count)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return [try g.permute(inverse)]
    case .slice(let axis, let start, let end):
        return [try sliceGradient(x: x[0], axis: axis, start: start, end: end, g: g)]
    case .concat(let axis):
        return try concatGradient(parts: x, axis: axis, g: g, needs: needs)
    case .crossEntropy(let ignoreIndex):
        return [try crossEntropyGrad(logits: x[0], targets: x[1], upstream: g, ignoreIndex: ignoreIndex), nil]
    case .attention(let causal, let scale):
        return try attentionGradient(q: x[0], k: x[1], v: x[2], y: y, causal: causal, scale: scale, g: g, needs: needs)
    case .dropoutMask:
        return [nil]   // an i32 seed: nothing to differentiate
    case .argmax:
        return [nil]   // an i32 result: no gradient flows back through it
    case .cacheWrite, .cachedAttention:
        throw GraphError(op: "gradients", shapes: node.inputs.map { x[0].graph.node($0).shape },
                         expected: "a path from wrt to the loss through differentiable ops",
                         message: "\(node.op.name) is an inference op (KV-cache decoding) with no gradient rule")
    case .embeddingGrad, .crossEntropyGrad, .attentionGrad, .layerNormGrad:
        throw GraphError(op: "gradients", shapes: node.inputs.map { x[0].graph.node($0).shape },
                         expected: "a path from wrt to the loss through differentiable ops",
                         message: "\(node.op.name) has no gradient rule (no second derivatives)")
    }
}

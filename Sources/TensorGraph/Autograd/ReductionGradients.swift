/// Gradient rules of reductions, softmax, log-softmax, layer norm and RMS norm.

/// Sum and mean broadcast `g` back over the reduced axis; max sends it to the positions equal to the
/// maximum, **split equally between ties** (so the total is conserved; PyTorch's `amax` does the same).
func reduceGradient(_ op: ReduceOp, x: Tensor, y: Tensor, axis: Int, keepDims: Bool, g: Tensor) throws -> Tensor {
    func kept(_ t: Tensor) throws -> Tensor {
        if keepDims { return t }
        var dims = x.shape.dims
        dims[axis] = 1
        return try t.reshape(Shape(dims))
    }
    let gk = try kept(g)
    switch op {
    case .sum: return try gk.expand(to: x.shape)
    case .mean: return try (gk / Float(x.shape.dims[axis])).expand(to: x.shape)
    case .max:
        let mask = try x.equal(kept(y))
        let ties = try mask.sum(axis: axis, keepDims: true)
        return try mask * (gk / ties)
    }
}

/// dx = y ⊙ (g − Σ(g ⊙ y)) along the axis.
func softmaxGradient(y: Tensor, axis: Int, g: Tensor) throws -> Tensor {
    try y * (g - (g * y).sum(axis: axis, keepDims: true))
}

/// dx = g − eʸ ⊙ Σg along the axis (eʸ is the softmax).
func logSoftmaxGradient(y: Tensor, axis: Int, g: Tensor) throws -> Tensor {
    try g - y.exp() * g.sum(axis: axis, keepDims: true)
}

/// One ``Op/layerNormGrad(eps:operand:)`` node per needed operand (a backend computes them together).
func layerNormGradient(x: Tensor, gain: Tensor, eps: Float, g: Tensor, needs: [Bool]) throws -> [Tensor?] {
    try zip(LayerNormOperand.allCases, needs).map { operand, needed in
        needed ? try x.graph.apply(.layerNormGrad(eps: eps, operand: operand), [x, gain, g]) : nil
    }
}

/// y = x·r·gain with r = 1/√(mean(x²) + eps): dx = r·u − x·r³·mean(u ⊙ x), u = g ⊙ gain; dgain = Σ_rows g ⊙ x·r.
func rmsNormGradient(x: Tensor, gain: Tensor, eps: Float, g: Tensor, needs: [Bool]) throws -> [Tensor?] {
    let r = try ((x * x).mean(axis: -1, keepDims: true) + eps).rsqrt()
    var dx: Tensor?
    if needs[0] {
        let u = try g * gain
        dx = try r * u - x * r.pow(3) * (u * x).mean(axis: -1, keepDims: true)
    }
    let dgain = needs[1] ? try (g * x * r).sumToShape(gain.shape) : nil
    return [dx, dgain]
}

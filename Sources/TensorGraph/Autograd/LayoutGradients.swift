/// Gradient rules of slice, concat and attention.

/// The slice's gradient padded back to x's shape with zero constants on either side.
func sliceGradient(x: Tensor, axis: Int, start: Int, end: Int, g: Tensor) throws -> Tensor {
    var parts: [Tensor] = []
    func zeros(_ n: Int) -> Tensor {
        var dims = x.shape.dims
        dims[axis] = n
        return g.graph.constant(0, shape: Shape(dims))
    }
    if start > 0 { parts.append(zeros(start)) }
    parts.append(g)
    if end < x.shape.dims[axis] { parts.append(zeros(x.shape.dims[axis] - end)) }
    return parts.count == 1 ? g : try concat(parts, axis: axis)
}

/// Each part's gradient is its slice of g.
func concatGradient(parts: [Tensor], axis: Int, g: Tensor, needs: [Bool]) throws -> [Tensor?] {
    var offset = 0
    var result: [Tensor?] = []
    for (k, part) in parts.enumerated() {
        let n = part.shape.dims[axis]
        if !needs[k] {
            result.append(nil)
        } else if n == g.shape.dims[axis] {
            result.append(g)
        } else {
            result.append(try g.slice(axis: axis, start: offset, end: offset + n))
        }
        offset += n
    }
    return result
}

/// The backward of the decomposition `softmax(scale·q·kᵀ + mask)·v`, recomputing p:
/// dv = pᵀ·dy, dp = dy·vᵀ, ds = p ⊙ (dp − Σ_rows(dp ⊙ p)), dq = scale·ds·k, dk = scale·dsᵀ·q.
/// A query that sees no key (causal with Tq > Tk) averages v uniformly whatever q and k are, so its
/// ds row is zeroed (the forward's -1e30 mask swallows the scores in f32).
func attentionGradient(q: Tensor, k: Tensor, v: Tensor, causal: Bool, scale: Float, g: Tensor,
                       needs: [Bool]) throws -> [Tensor?] {
    let graph = q.graph
    let tq = q.shape[-2], tk = k.shape[-2]
    var scores = try q.matmul(k, transposeB: true) * scale
    if causal {
        scores = try scores + graph.constant(causalMaskValues(queries: tq, keys: tk), shape: [tq, tk])
    }
    let p = try scores.softmax(axis: -1)
    let dv = needs[2] ? try p.matmul(g, transposeA: true) : nil
    guard needs[0] || needs[1] else { return [nil, nil, dv] }
    let dp = try g.matmul(v, transposeB: true)
    var ds = try softmaxGradient(y: p, axis: -1, g: dp)
    if causal && tq > tk {
        let visible = (0..<tq).map { i in Float(i + (tk - tq) >= 0 ? 1 : 0) }
        ds = try ds * graph.constant(visible, shape: [tq, 1])
    }
    let dq = needs[0] ? try ds.matmul(k) * scale : nil
    let dk = needs[1] ? try ds.matmul(q, transposeA: true) * scale : nil
    return [dq, dk, dv]
}

/// Neural-network ops: embedding lookup, cross-entropy loss and attention.

/// Rows of `table` `[V, C]` (f32) picked by `indices` (i32, any shape) → `[..., C]`.
/// Plans reject indices outside `0..<V` with ``PlanError/indexOutOfRange(op:index:bound:)``.
public func embedding(_ table: Tensor, _ indices: Tensor) throws -> Tensor {
    try table.graph.apply(.embedding, [table, indices])
}

/// Mean cross-entropy of `logits` `[N, C]` (f32) against `targets` `[N]` (i32) → `[]`.
///
/// Rows whose target equals `ignoreIndex` are skipped (and not counted in the mean); the result
/// is 0 when every row is skipped. Other targets must lie in `0..<C`.
public func crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex: Int32? = nil) throws -> Tensor {
    try logits.graph.apply(.crossEntropy(ignoreIndex: ignoreIndex), [logits, targets])
}

/// The default attention scale for head size `d`: `1/√d`.
public func defaultAttentionScale(headSize d: Int) -> Float { Float(1.0 / Double(d).squareRoot()) }

/// The additive causal mask `[Tq, Tk]`: 0 where query `i` may see key `j` (`j <= i + (Tk − Tq)`),
/// `-1e30` elsewhere.
public func causalMaskValues(queries tq: Int, keys tk: Int) -> [Float] {
    var mask = [Float](repeating: 0, count: tq * tk)
    for i in 0..<tq {
        for j in 0..<tk where j > i + (tk - tq) { mask[i * tk + j] = -1e30 }
    }
    return mask
}

/// A KV-cache append: `cache` `[B, H, L, D]` with row `positions[b]` of sequence `b`'s heads
/// replaced by `rows` `[B, H, 1, D]`; `positions` i32 `[B]`, each in `0..<L`. Assign the result back
/// to the cache variable (``Assignment``) and a backend writes only the new rows.
public func cacheWrite(_ cache: Tensor, rows: Tensor, positions: Tensor) throws -> Tensor {
    try cache.graph.apply(.cacheWrite, [cache, rows, positions])
}

/// Attention of `q` `[B, H, Tq, D]` over the filled prefix of a KV cache (`keys` `[B, H, L, D]`,
/// `values` `[B, H, L, Dv]`): query `i` of sequence `b` sits at position `positions[b] − (Tq − 1) + i`
/// and sees cache rows `0` through that position. `scale` defaults to `1/√D`.
public func cachedAttention(q: Tensor, keys: Tensor, values: Tensor, positions: Tensor, scale: Float? = nil) throws -> Tensor {
    let s = scale ?? defaultAttentionScale(headSize: q.shape.rank >= 1 ? q.shape[-1] : 1)
    return try q.graph.apply(.cachedAttention(scale: s), [q, keys, values, positions])
}

/// Fused scaled dot-product attention: `softmax(scale · q·kᵀ + mask) · v`.
///
/// q `[..., Tq, D]`, k `[..., Tk, D]`, v `[..., Tk, Dv]` → `[..., Tq, Dv]`; `scale` defaults to
/// `1/√D`. With `causal`, query `i` sees keys `j <= i + (Tk − Tq)` (aligned at the end, as with
/// a KV cache).
public func attention(q: Tensor, k: Tensor, v: Tensor, causal: Bool, scale: Float? = nil) throws -> Tensor {
    let s = scale ?? defaultAttentionScale(headSize: q.shape.rank >= 1 ? q.shape[-1] : 1)
    return try q.graph.apply(.attention(causal: causal, scale: s), [q, k, v])
}

/// The same math as ``attention(q:k:v:causal:scale:)`` built from primitive ops:
/// `matmul(transposeB)` → `* scale` → `+ mask` (a constant of 0 / -1e30, only when causal)
/// → `softmax` → `matmul`.
public func decomposedAttention(q: Tensor, k: Tensor, v: Tensor, causal: Bool, scale: Float? = nil) throws -> Tensor {
    // Validate with the fused op's rules first so errors read the same.
    _ = try inferShape(.attention(causal: causal, scale: 1), [q.shape, k.shape, v.shape], [q.dtype, k.dtype, v.dtype])
    guard q.graph === k.graph, q.graph === v.graph else {
        throw GraphError(op: "attention", shapes: [q.shape, k.shape, v.shape],
                         expected: "all operands must belong to the same graph", message: "operand from a different graph")
    }
    let s = scale ?? defaultAttentionScale(headSize: q.shape[-1])
    var scores = try q.matmul(k, transposeB: true) * s
    if causal {
        let tq = q.shape[-2], tk = k.shape[-2]
        let mask = try q.graph.constant(causalMaskValues(queries: tq, keys: tk), shape: [tq, tk])
        scores = try scores + mask
    }
    return try scores.softmax(axis: -1).matmul(v)
}

/// The backward of ``embedding(_:_:)``: scatter-adds gradient rows `[..., C]` into a `[vocabularySize, C]`
/// table gradient by their i32 `indices` `[...]`.
public func embeddingGrad(indices: Tensor, gradient: Tensor, vocabularySize: Int) throws -> Tensor {
    try indices.graph.apply(.embeddingGrad(vocabularySize: vocabularySize), [indices, gradient])
}

/// The gradient of ``crossEntropy(logits:targets:ignoreIndex:)`` with respect to its logits, scaled by the
/// scalar `upstream` gradient: `(softmax(logits) − onehot(targets)) · upstream / count`.
public func crossEntropyGrad(logits: Tensor, targets: Tensor, upstream: Tensor, ignoreIndex: Int32? = nil) throws -> Tensor {
    try logits.graph.apply(.crossEntropyGrad(ignoreIndex: ignoreIndex), [logits, targets, upstream])
}

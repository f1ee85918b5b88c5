/// Matrix multiplication and the `linear` layer.
extension Tensor {
    /// `self · other`, optionally transposing either operand's last two axes.
    ///
    /// A `[..., M, K]` (or `[..., K, M]` if `transposeA`) times B `[..., K, N]` (or `[..., N, K]`
    /// if `transposeB`) gives `[..., M, N]`. Batch dimensions must be equal, or B has rank 2 and
    /// is shared by every batch.
    /// - Throws: ``GraphError`` when ranks, inner or batch dimensions do not fit.
    public func matmul(_ other: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        try graph.apply(.matmul(transposeA: transposeA, transposeB: transposeB), [self, other])
    }
}

/// `x · weightᵀ + bias` with `weight` of shape `[out, in]` and `bias` of shape `[out]`.
///
/// Composite: a `matmul(transposeB: true)` followed by a broadcasting add. `x` may be
/// `[..., in]` of any rank ≥ 1 (rank 1 is handled by reshaping to `[1, in]` and back).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
    var y: Tensor
    if x.shape.rank == 1 {
        y = try x.reshape([1, x.shape[0]]).matmul(weight, transposeB: true)
        y = try y.reshape([y.shape[-1]])
    } else {
        y = try x.matmul(weight, transposeB: true)
    }
    if let bias { y = try y + bias }
    return y
}

/// Layer normalisation, RMS normalisation and the proportions norm over the last axis.
extension Tensor {
    /// `(x − mean) / √(var + eps) · gain + bias` over the last axis (biased variance).
    /// - Parameters: gain and bias of shape `[C]`, C the last dimension of `self`.
    public func layerNorm(gain: Tensor, bias: Tensor, eps: Float = 1e-5) throws -> Tensor {
        try graph.apply(.layerNorm(eps: eps), [self, gain, bias])
    }
    /// `x · rsqrt(mean(x²) + eps) · gain` over the last axis; gain of shape `[C]`.
    public func rmsNorm(gain: Tensor, eps: Float = 1e-5) throws -> Tensor {
        try graph.apply(.rmsNorm(eps: eps), [self, gain])
    }

    /// The "proportions" norm over the last axis: `c·tanh(u/c) · gain (+ shift)` with
    /// `u = x / (mean|x| + eps)` and `c = compression` (see ``Op/proportionsNorm(eps:compression:)``).
    /// - Parameters: gain, and shift when given, of shape `[C]`; eps ≥ 0 and compression > 0, both finite.
    public func proportionsNorm(gain: Tensor, shift: Tensor? = nil, eps: Float = 1e-5, compression: Float = 4) throws -> Tensor {
        try graph.apply(.proportionsNorm(eps: eps, compression: compression), [self, gain] + (shift.map { [$0] } ?? []))
    }
}

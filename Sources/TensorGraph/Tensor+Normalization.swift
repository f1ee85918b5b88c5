/// Layer normalisation and RMS normalisation over the last axis.
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
}

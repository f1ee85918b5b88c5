/// Layer normalisation over the last axis with a learned gain and bias, PyTorch's `nn.LayerNorm`.
public struct LayerNorm: UnaryLayer {
    /// The gain `[dimensions]`, starting at 1.
    public let weight: Parameter
    /// The bias `[dimensions]`, starting at 0.
    public let bias: Parameter
    /// Added to the variance before the square root.
    public let eps: Float

    /// Normalises `dimensions` features.
    public init(_ dimensions: Int, eps: Float = 1e-5) {
        weight = Parameter([dimensions], initializer: .ones)
        bias = Parameter([dimensions], initializer: .zeros)
        self.eps = eps
    }

    /// ``Tensor/layerNorm(gain:bias:eps:)`` of `x` `[..., dimensions]`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.layerNorm(gain: weight.tensor, bias: bias.tensor, eps: eps)
    }
}

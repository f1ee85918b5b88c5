/// RMS normalisation over the last axis with a learned gain, PyTorch's `nn.RMSNorm`.
public struct RMSNorm: UnaryLayer {
    /// The gain `[dimensions]`, starting at 1.
    public let weight: Parameter
    /// Added to the mean square before the square root.
    public let eps: Float

    /// Normalises `dimensions` features.
    public init(_ dimensions: Int, eps: Float = 1e-5) {
        weight = Parameter([dimensions], initializer: .ones)
        self.eps = eps
    }

    /// ``Tensor/rmsNorm(gain:eps:)`` of `x` `[..., dimensions]`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.rmsNorm(gain: weight.tensor, eps: eps)
    }
}

/// The "proportions" norm over the last axis with a learned gain and, optionally, a learned shift:
/// ``Tensor/proportionsNorm(gain:shift:eps:compression:)``.
///
/// Each row is divided by its mean magnitude, not centred, so the ratios between a token's values
/// survive; `c·tanh(u/c)` then compresses values beyond about `c` softly instead of clipping them.
public struct ProportionsNorm: UnaryLayer {
    /// The gain `[dimensions]`, starting at 1.
    public let weight: Parameter
    /// The shift `[dimensions]`, starting at 0; nil (the default) for none.
    public let bias: Parameter?
    /// Added to the mean magnitude before dividing.
    public let eps: Float
    /// The bound `c` of `c·tanh(u/c)`.
    public let compression: Float

    /// Normalises `dimensions` features; `shift` adds a learned shift after the gain.
    public init(_ dimensions: Int, shift: Bool = false, eps: Float = 1e-5, compression: Float = 4) {
        weight = Parameter([dimensions], initializer: .ones)
        bias = shift ? Parameter([dimensions], initializer: .zeros) : nil
        self.eps = eps
        self.compression = compression
    }

    /// ``Tensor/proportionsNorm(gain:shift:eps:compression:)`` of `x` `[..., dimensions]`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.proportionsNorm(gain: weight.tensor, shift: bias?.tensor, eps: eps, compression: compression)
    }
}


/// A lookup table of `count` rows of `dimensions` features, PyTorch's `nn.Embedding`.
public struct Embedding: UnaryLayer {
    /// `[count, dimensions]`.
    public let weight: Parameter

    /// A table of `count` rows; by default N(0, 1), PyTorch's default initialisation.
    public init(_ count: Int, _ dimensions: Int, initializer: Initializer = .normal(std: 1)) {
        weight = Parameter([count, dimensions], initializer: initializer)
    }

    /// The rows picked by i32 `indices` (any shape) → `[..., dimensions]` (``embedding(_:_:)``).
    public func callAsFunction(_ indices: Tensor) throws -> Tensor {
        try embedding(weight.tensor, indices)
    }
}

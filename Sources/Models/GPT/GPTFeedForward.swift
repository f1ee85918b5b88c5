import TensorGraph

/// A block's MLP: `c_fc` to four times the width, GELU, `c_proj` back.
public struct GPTFeedForward: UnaryLayer {
    /// `[4·embedding, embedding]` and `[4·embedding]`.
    @Key("c_fc") public var expand: Linear
    /// `[embedding, 4·embedding]` and `[embedding]`.
    @Key("c_proj") public var projection: Linear

    /// An MLP for `embedding` channels.
    public init(_ embedding: Int, weights: Initializer, residualWeights: Initializer) {
        expand = Linear(embedding, 4 * embedding, weightInitializer: weights, biasInitializer: .zeros)
        projection = Linear(4 * embedding, embedding, weightInitializer: residualWeights, biasInitializer: .zeros)
    }

    /// `c_proj(gelu(c_fc(x)))`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try projection(expand(x).gelu())
    }
}

import TensorGraph

/// A block's attention projections: `c_attn` to queries, keys and values, `c_proj` back to the residual stream.
public struct GPTAttention: Module {
    /// `[3·embedding, embedding]` and `[3·embedding]`.
    @Key("c_attn") public var queryKeyValue: Linear
    /// `[embedding, embedding]` and `[embedding]`.
    @Key("c_proj") public var projection: Linear

    /// Projections for `embedding` channels.
    public init(_ embedding: Int, weights: Initializer, residualWeights: Initializer) {
        queryKeyValue = Linear(embedding, 3 * embedding, weightInitializer: weights, biasInitializer: .zeros)
        projection = Linear(embedding, embedding, weightInitializer: residualWeights, biasInitializer: .zeros)
    }
}

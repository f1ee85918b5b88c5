import TensorGraph

/// A block's MLP: `c_fc` to a hidden width (a GPT's: four times the width), GELU, `c_proj` back.
/// babyLLM's memory layers are the same MLP over its neurons.
public struct GPTFeedForward: UnaryLayer {
    /// `[hidden, embedding]` and `[hidden]`.
    @Key("c_fc") public var expand: Linear
    /// `[embedding, hidden]` and `[embedding]`.
    @Key("c_proj") public var projection: Linear

    /// An MLP for `embedding` channels through `hidden` ones (default `4·embedding`); biases start at 0.
    public init(_ embedding: Int, hidden: Int? = nil, weights: Initializer, residualWeights: Initializer) {
        let hidden = hidden ?? 4 * embedding
        expand = Linear(embedding, hidden, weightInitializer: weights, biasInitializer: .zeros)
        projection = Linear(hidden, embedding, weightInitializer: residualWeights, biasInitializer: .zeros)
    }

    /// `c_proj(gelu(c_fc(x)))`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try projection(expand(x).gelu())
    }
}

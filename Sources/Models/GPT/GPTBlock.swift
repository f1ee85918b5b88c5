import TensorGraph

/// One pre-norm transformer block (`transformer.h.<i>`): `ln_1` → causal self-attention
/// (`attn.c_attn`, `attn.c_proj`) → residual; `ln_2` → GELU MLP 4× wide (`mlp.c_fc`,
/// `mlp.c_proj`) → residual. The attention itself lives in the graphs ``GPTModel`` builds
/// (full-sequence, or over a KV cache); the block holds the layers around it.
public struct GPTBlock: Module {
    /// The norm before the attention.
    @Key("ln_1") public var attentionNorm: any UnaryLayer
    /// The attention's projections.
    @Key("attn") public var attention: GPTAttention
    /// The norm before the MLP.
    @Key("ln_2") public var feedForwardNorm: any UnaryLayer
    /// The MLP.
    @Key("mlp") public var feedForward: GPTFeedForward

    /// A block of `configuration`'s sizes; matrices start from `weights`, the two residual
    /// projections from `residualWeights`, biases at 0.
    public init(_ configuration: GPTConfiguration, weights: Initializer, residualWeights: Initializer) {
        attentionNorm = GPT.norm(configuration)
        attention = GPTAttention(configuration.embedding, weights: weights, residualWeights: residualWeights)
        feedForwardNorm = GPT.norm(configuration)
        feedForward = GPTFeedForward(configuration.embedding, weights: weights, residualWeights: residualWeights)
    }

    /// The first half up to the attention: `ln_1`, then `c_attn` → `[rows, 3·embedding]` (queries, keys, values).
    public func queriesKeysValues(_ x: Tensor) throws -> Tensor {
        try attention.queryKeyValue(attentionNorm(x))
    }

    /// The second half before its residual add: `ln_2` → `c_fc` → GELU → `c_proj`.
    public func feedForwardBranch(_ x: Tensor) throws -> Tensor {
        try feedForward(feedForwardNorm(x))
    }
}

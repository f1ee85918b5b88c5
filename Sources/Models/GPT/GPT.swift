import TensorGraph

/// A GPT (see ``GPTConfiguration``) as a module, with makemore's / nanoGPT's parameter names:
/// `transformer.wte`, `transformer.wpe` (learned positions only), `transformer.h.<i>.…`
/// (``GPTBlock``), `transformer.ln_f`, `lm_head` (no bias).
///
/// ``GPTModel/forward(_:batch:sequence:in:attentionMaps:weightFormats:dropout:)`` and
/// ``GPTModel/decode(_:batch:in:weightFormats:)`` build its graphs.
public struct GPT: Module {
    /// The sizes and variants.
    public let configuration: GPTConfiguration
    /// Embeddings, blocks and the final norm.
    public var transformer: Transformer
    /// The output projection `[vocabulary, embedding]`.
    @Key("lm_head") public var head: Linear

    /// The body of the model: everything but the output projection.
    public struct Transformer: Module {
        /// Token embeddings `[vocabulary, embedding]`.
        @Key("wte") public var tokenEmbedding: Embedding
        /// Learned positions `[blockSize, embedding]`; nil with rotary positions.
        @Key("wpe") public var positionEmbedding: Embedding?
        /// The blocks, in order.
        @Key("h") public var blocks: [GPTBlock]
        /// The norm after the last block.
        @Key("ln_f") public var finalNorm: any UnaryLayer

        /// Embeddings, blocks and final norm of `configuration`'s sizes (see ``GPT/init(_:)``).
        init(_ configuration: GPTConfiguration, weights: Initializer, residualWeights: Initializer) {
            let c = configuration.embedding
            tokenEmbedding = Embedding(configuration.vocabulary, c, initializer: weights)
            positionEmbedding = configuration.positions == .learned ? Embedding(configuration.blockSize, c, initializer: weights) : nil
            blocks = (0..<configuration.layers).map { _ in GPTBlock(configuration, weights: weights, residualWeights: residualWeights) }
            finalNorm = GPT.norm(configuration)
        }
    }

    /// A model of `configuration`'s sizes with nanoGPT's initialisation for
    /// ``Module/initialValues(seed:)``: every matrix and embedding N(0, 0.02), the residual
    /// projections (`c_proj`) N(0, 0.02/√(2·layers)), biases 0, norm gains 1.
    public init(_ configuration: GPTConfiguration) {
        let normal = Initializer.normal(std: 0.02)
        let residual = Initializer.normal(std: 0.02 / (2 * Double(configuration.layers)).squareRoot())
        self.configuration = configuration
        transformer = Transformer(configuration, weights: normal, residualWeights: residual)
        head = Linear(configuration.embedding, configuration.vocabulary, bias: false, weightInitializer: normal)
    }

    /// Logits `[rows, vocabulary]` of the residual stream `x` `[rows, embedding]`: the final norm, then the head.
    public func logits(_ x: Tensor) throws -> Tensor {
        try head(transformer.finalNorm(x))
    }

    /// The row normalisation `configuration` asks for, over the embedding.
    static func norm(_ configuration: GPTConfiguration) -> any UnaryLayer {
        switch configuration.norm {
        case .layerNorm: return LayerNorm(configuration.embedding)
        case .rmsNorm: return RMSNorm(configuration.embedding)
        case .proportions: return ProportionsNorm(configuration.embedding)
        case .identity: return Identity()
        }
    }
}

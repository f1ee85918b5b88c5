import TensorGraph

/// A GPT-style decoder (pre-norm blocks, as makemore's and nanoGPT's): token embedding plus
/// learned (or rotary) positions, `layers` × [norm → causal self-attention → residual; norm →
/// GELU MLP 4× wide → residual], final norm, linear head without bias.
public struct GPTConfiguration: Codable, Equatable, Sendable {
    /// How positions enter the model.
    public enum Positions: String, Codable, Sendable, CaseIterable {
        /// A learned `[blockSize, embedding]` table added to the token embeddings (GPT-2).
        case learned
        /// Rotary embeddings (RoFormer, GPT-NeoX half rotation) applied to queries and keys; no table.
        case rotary
    }
    /// Which row normalisation the blocks use.
    public enum Norm: String, Codable, Sendable, CaseIterable {
        case layerNorm = "layernorm"
        case rmsNorm = "rmsnorm"
        /// ``ProportionsNorm``: divide by the mean magnitude, no centring, `4·tanh(u/4)`, gain only.
        case proportions
        /// No normalisation (the identity; no parameters).
        case identity = "none"
    }

    /// Tokens the model reads and predicts.
    public var vocabulary: Int
    /// The longest sequence the model sees (the positions table's rows; the KV cache's length).
    public var blockSize: Int
    /// Transformer blocks.
    public var layers = 4
    /// Attention heads per block (they divide the embedding).
    public var heads = 4
    /// Channels of the residual stream.
    public var embedding = 64
    /// Learned position table or rotary embeddings.
    public var positions = Positions.learned
    /// The blocks' and the final row normalisation.
    public var norm = Norm.layerNorm

    /// Memberwise, with the names defaults (4 layers, 4 heads, embedding 64).
    public init(vocabulary: Int, blockSize: Int, layers: Int = 4, heads: Int = 4, embedding: Int = 64,
                positions: Positions = .learned, norm: Norm = .layerNorm) {
        self.vocabulary = vocabulary
        self.blockSize = blockSize
        self.layers = layers
        self.heads = heads
        self.embedding = embedding
        self.positions = positions
        self.norm = norm
    }

    /// Channels per head.
    public var headSize: Int { embedding / heads }

    /// Checks the numbers fit together; the message names the offending ones.
    public func validate() throws {
        guard vocabulary > 0, blockSize > 0, layers > 0, heads > 0, embedding > 0 else {
            throw GraphError(op: "gpt", shapes: [], expected: "positive sizes",
                             message: "vocabulary \(vocabulary), block \(blockSize), layers \(layers), heads \(heads), embedding \(embedding)")
        }
        guard embedding % heads == 0 else {
            throw GraphError(op: "gpt", shapes: [], expected: "heads dividing the embedding",
                             message: "embedding \(embedding) is not a multiple of heads \(heads)")
        }
        if positions == .rotary, headSize % 2 != 0 {
            throw GraphError(op: "gpt", shapes: [], expected: "an even head size for rotary positions",
                             message: "head size \(headSize) is odd")
        }
    }

    /// Parameter names and shapes with makemore's / nanoGPT's PyTorch names (`weight` is [out, in]),
    /// so safetensors checkpoints load in either framework: those of ``GPT``.
    public var parameterShapes: [(name: String, shape: Shape)] { GPT(self).parameterShapes }

    /// How many numbers the model learns.
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.count } }

    /// Whether AdamW's weight decay applies to a parameter: matrices and embeddings yes; biases and
    /// norm gains no (nanoGPT's grouping).
    public static func isDecayed(_ name: String, shape: Shape) -> Bool { shape.rank >= 2 }
}

extension GPTModel {
    /// nanoGPT's initialisation from the reference xorshift* generator: every matrix and embedding
    /// N(0, 0.02), the residual projections (`c_proj`) N(0, 0.02/√(2·layers)), biases 0, norm gains 1;
    /// drawn in ``GPTConfiguration/parameterShapes`` order (``GPT``'s initialisers).
    public static func initialParameters(_ configuration: GPTConfiguration, seed: UInt64 = 1337) -> [String: TensorData] {
        GPT(configuration).initialValues(seed: seed)
    }
}

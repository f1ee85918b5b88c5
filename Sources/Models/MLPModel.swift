import TensorGraph

/// The character-level n-gram MLP of Bengio et al. (2003), as in the names reference:
/// embed the `context` previous characters, concatenate, one tanh hidden layer, logits.
public struct MLPConfiguration: Codable, Equatable, Sendable {
    public var vocabulary = 27
    public var context = 3
    public var embedding = 48
    public var hidden = 512

    public init(vocabulary: Int = 27, context: Int = 3, embedding: Int = 48, hidden: Int = 512) {
        self.vocabulary = vocabulary
        self.context = context
        self.embedding = embedding
        self.hidden = hidden
    }

    /// Parameter names and shapes, in PyTorch `nn.Linear` / `nn.Embedding` conventions
    /// (`weight` is [out, in]) so safetensors checkpoints load in either framework: those of ``MLP``.
    public var parameterShapes: [(name: String, shape: Shape)] { MLP(self).parameterShapes }
}

public enum MLPModel {
    /// The graph pieces of one model instance.
    public struct Graph {
        public let graph: TensorGraph.Graph
        /// The module, declared in `graph`.
        public let model: MLP
        /// i32 [batch, context]
        public let contexts: Tensor
        /// f32 [batch, vocabulary]
        public let logits: Tensor
        public let parameters: [String: Tensor]
    }

    /// Builds the forward graph of an ``MLP`` for `batch` rows. Inputs: "contexts" (i32 [batch, context]).
    /// `weightFormats` declares weight matrices as quantized variables (see ``ModelQuantization``).
    public static func build(_ configuration: MLPConfiguration, batch: Int, in graph: TensorGraph.Graph = TensorGraph.Graph(),
                             weightFormats: [String: QuantFormat] = [:]) throws -> Graph {
        let model = MLP(configuration)
        let parameters = try model.declare(in: graph, dtypes: weightFormats.mapValues(\.dtype))
        let contexts = try graph.input("contexts", [batch, configuration.context], dtype: .i32)
        let logits = try model(contexts)
        return Graph(graph: graph, model: model, contexts: contexts, logits: logits,
                     parameters: Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.tensor) }))
    }

    /// The reference initialisation (xorshift*, seed 1337): embedding N(0,1); hidden weights and
    /// bias U(−s, s), s = 1/√(context·embedding); output weights and bias U(−t, t), t = 1/√hidden;
    /// drawn in that order, weights laid out [out, in] (``MLP``'s initialisers).
    public static func initialParameters(_ configuration: MLPConfiguration, seed: UInt64 = 1337) -> [String: TensorData] {
        MLP(configuration).initialValues(seed: seed)
    }
}

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
    /// (`weight` is [out, in]) so safetensors checkpoints load in either framework.
    public var parameterShapes: [(name: String, shape: Shape)] {
        [("embedding.weight", [vocabulary, embedding]),
         ("hidden.weight", [hidden, context * embedding]), ("hidden.bias", [hidden]),
         ("output.weight", [vocabulary, hidden]), ("output.bias", [vocabulary])]
    }
}

public enum MLPModel {
    /// The graph pieces of one model instance.
    public struct Graph {
        public let graph: TensorGraph.Graph
        /// i32 [batch, context]
        public let contexts: Tensor
        /// f32 [batch, vocabulary]
        public let logits: Tensor
        public let parameters: [String: Tensor]
    }

    /// Builds the forward graph for `batch` rows. Inputs: "contexts" (i32 [batch, context]).
    /// `weightFormats` declares weight matrices as quantized variables (see ``ModelQuantization``).
    public static func build(_ configuration: MLPConfiguration, batch: Int, in graph: TensorGraph.Graph = TensorGraph.Graph(),
                             weightFormats: [String: QuantFormat] = [:]) throws -> Graph {
        var parameters: [String: Tensor] = [:]
        for (name, shape) in configuration.parameterShapes {
            parameters[name] = try graph.variable(name, shape, dtype: weightFormats[name]?.dtype ?? .f32)
        }
        let contexts = try graph.input("contexts", [batch, configuration.context], dtype: .i32)
        let embedded = try embedding(parameters["embedding.weight"]!, contexts)
            .reshape([batch, configuration.context * configuration.embedding])
        let hidden = try linear(embedded, weight: parameters["hidden.weight"]!, bias: parameters["hidden.bias"]!).tanh()
        let logits = try linear(hidden, weight: parameters["output.weight"]!, bias: parameters["output.bias"]!)
        return Graph(graph: graph, contexts: contexts, logits: logits, parameters: parameters)
    }

    /// The reference initialisation (xorshift*, seed 1337): embedding N(0,1); hidden weights and
    /// bias U(−s, s), s = 1/√(context·embedding); output weights and bias U(−t, t), t = 1/√hidden;
    /// drawn in that order, weights laid out [out, in].
    public static func initialParameters(_ configuration: MLPConfiguration, seed: UInt64 = 1337) -> [String: TensorData] {
        var random = XorShiftRandom(seed: seed)
        let fanIn = configuration.context * configuration.embedding
        let s = 1 / Double(fanIn).squareRoot(), t = 1 / Double(configuration.hidden).squareRoot()
        let shapes = Dictionary(uniqueKeysWithValues: configuration.parameterShapes.map { ($0.name, $0.shape) })
        var values: [String: TensorData] = [:]
        values["embedding.weight"] = TensorData(shape: shapes["embedding.weight"]!,
                                                floats: random.normalArray(count: shapes["embedding.weight"]!.count))
        for (name, bound) in [("hidden.weight", s), ("hidden.bias", s), ("output.weight", t), ("output.bias", t)] {
            values[name] = TensorData(shape: shapes[name]!, floats: random.uniformArray(count: shapes[name]!.count, lo: -bound, hi: bound))
        }
        return values
    }
}

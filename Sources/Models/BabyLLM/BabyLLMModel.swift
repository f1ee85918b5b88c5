import TensorGraph

/// Builds babyLLM graphs from ``BabyLLMConfiguration``: the full-sequence forward pass
/// (training, evaluation, generation and inspection all use it).
public enum BabyLLMModel {
    /// The graph of a forward pass.
    public struct Forward {
        public let graph: Graph
        /// The module, declared in `graph`.
        public let model: BabyLLM
        /// i32 `[batch, sequence]` input "tokens".
        public let tokens: Tensor
        /// f32 `[batch·sequence, vocabulary]`, row `b·sequence + t` for position t of sequence b.
        public let logits: Tensor
        /// The neuron activations `[batch·sequence, neurons]` (after the GELU), rows as the logits'.
        public let activations: Tensor
        /// The window weights `[windows]` (softmax of the window logits).
        public let windowWeights: Tensor
        /// The parameters' variables by name.
        public let parameters: [String: Tensor]
    }

    /// Builds the forward pass for `batch` sequences of `sequence` tokens (1 … block size), the
    /// windowed means computed by `method`.
    /// - Throws: ``GraphError`` naming the sizes when the configuration or the sequence does not fit.
    public static func forward(_ c: BabyLLMConfiguration, batch: Int, sequence: Int, in graph: Graph = Graph(),
                               method: WindowMeanMethod = .default) throws -> Forward {
        try c.validate()
        guard sequence >= 1, sequence <= c.blockSize, batch >= 1 else {
            throw GraphError(op: "babyllm", shapes: [[batch, sequence]], expected: "1 ≤ sequence ≤ block size \(c.blockSize), batch ≥ 1",
                             message: "cannot build a forward pass over \(batch) × \(sequence) positions")
        }
        let model = BabyLLM(c)
        let parameters = try model.declare(in: graph)
        let tokens = try graph.input("tokens", [batch, sequence], dtype: .i32)
        let rows = batch * sequence
        let x = try model.tokenEmbedding(tokens).reshape([rows, c.embedding])
        let activations = try model.neurons(x).gelu()                                                  // [B·T, N]
        let weights = try model.windowWeights()
        let means = try causalWindowMeans(activations.reshape([batch, sequence, c.neurons]), windows: c.windows, weights: weights,
                                          method: method).reshape([rows, c.neurons])                    // [B·T, N]
        let logits = try model.logits(windowMeans: means)
        return Forward(graph: graph, model: model, tokens: tokens, logits: logits, activations: activations, windowWeights: weights,
                       parameters: Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.tensor) }))
    }

    /// The input of a forward pass over `tokens` `[batch·sequence]`.
    public static func forwardFeeds(tokens: [Int32], batch: Int, sequence: Int) -> [String: TensorData] {
        ["tokens": TensorData(shape: [batch, sequence], ints: tokens)]
    }
}

import TensorGraph

/// The names MLP as a module: embed the `context` previous characters, concatenate, one tanh
/// hidden layer, logits. Parameters `embedding.weight`, `hidden.weight`/`.bias`,
/// `output.weight`/`.bias` (PyTorch's `nn.Embedding` / `nn.Linear` names and layouts).
public struct MLP: UnaryLayer {
    /// The sizes.
    public let configuration: MLPConfiguration
    /// `[vocabulary, embedding]`, N(0, 1).
    public let embedding: Embedding
    /// `[hidden, context·embedding]`, uniform in ±1/√(context·embedding).
    public let hidden: Linear
    /// `[vocabulary, hidden]`, uniform in ±1/√hidden.
    public let output: Linear

    /// A model of `configuration`'s sizes; ``Module/initialValues(seed:)`` draws the reference
    /// initialisation (embedding, hidden weight and bias, output weight and bias, in that order).
    public init(_ configuration: MLPConfiguration) {
        self.configuration = configuration
        embedding = Embedding(configuration.vocabulary, configuration.embedding)
        hidden = Linear(configuration.context * configuration.embedding, configuration.hidden)
        output = Linear(configuration.hidden, configuration.vocabulary)
    }

    /// Logits `[batch, vocabulary]` of contexts, i32 `[batch, context]`.
    public func callAsFunction(_ contexts: Tensor) throws -> Tensor {
        let c = configuration
        let embedded = try embedding(contexts).reshape([contexts.shape[0], c.context * c.embedding])
        return try output(hidden(embedded).tanh())
    }
}

import TensorGraph

/// A babyLLM (see ``BabyLLMConfiguration``) as a module. Per token, for `x` the embedding:
///
/// 1. **neurons**: `n = gelu(x·Wᵀ + b)`, one number per neuron (`[T, neurons]`). The GELU makes
///    a window's mean a mean of nonlinear features (without it the windows would only average
///    embeddings) and gives "firing" its meaning: large positive activations.
/// 2. **windows** (instead of attention heads): `w = Σ_k softmax(window_logits)_k · mean of n over
///    the last windows[k] tokens` (``causalWindowMeans(_:windows:weights:method:)``), then a
///    layer norm (`ln_windows`): means over 1 and over 64 tokens differ in scale, and the memory
///    MLP trains better on rows of one scale.
/// 3. **memory 1**: `m₁ = MLP₁(w)` (neurons → memory → neurons, GELU).
/// 4. **memory 2** on the combination of memory 1's input and output as their sum, a residual:
///    `r = w + m₁`, `m₂ = MLP₂(ln_memory2(r))`, `h = r + m₂`. A sum keeps both paths' gradients
///    whole and needs no extra weights; the norm before MLP₂ is the pre-norm of a GPT block.
/// 5. **logits**: `lm_head(ln_f(h))`.
///
/// Parameter names: `wte`, `neurons`, `window_logits` (`[windows]`, starting at 0: an even mix),
/// `ln_windows`, `memory1.c_fc`/`c_proj`, `ln_memory2`, `memory2.c_fc`/`c_proj`, `ln_f`, `lm_head`.
/// ``BabyLLMModel/forward(_:batch:sequence:in:method:)`` builds its graph.
public struct BabyLLM: Module {
    /// The sizes.
    public let configuration: BabyLLMConfiguration
    /// Token embeddings `[vocabulary, embedding]`.
    @Key("wte") public var tokenEmbedding: Embedding
    /// The neuron layer `[neurons, embedding]` and `[neurons]`.
    @Key("neurons") public var neurons: Linear
    /// The windows' mixing logits `[windows]`; their softmax weights the windowed means.
    @Key("window_logits") public var windowLogits: Parameter
    /// The norm of the mixed means.
    @Key("ln_windows") public var windowNorm: LayerNorm
    /// Memory layer 1: neurons → memory → neurons.
    @Key("memory1") public var memory1: GPTFeedForward
    /// The norm before memory layer 2.
    @Key("ln_memory2") public var memory2Norm: LayerNorm
    /// Memory layer 2: neurons → memory → neurons.
    @Key("memory2") public var memory2: GPTFeedForward
    /// The norm before the logit layer.
    @Key("ln_f") public var finalNorm: LayerNorm
    /// The logit layer `[vocabulary, neurons]`, no bias.
    @Key("lm_head") public var head: Linear

    /// A model of `configuration`'s sizes, initialised as nanoGPT does a GPT: matrices and the
    /// embedding N(0, 0.02), the memory layers' output projections N(0, 0.02/√4) (two residual
    /// branches, counted as a 2-layer GPT's four), biases 0, norm gains 1, window logits 0.
    public init(_ configuration: BabyLLMConfiguration) {
        let normal = Initializer.normal(std: 0.02), residual = Initializer.normal(std: 0.01)
        let c = configuration
        self.configuration = c
        tokenEmbedding = Embedding(c.vocabulary, c.embedding, initializer: normal)
        neurons = Linear(c.embedding, c.neurons, weightInitializer: normal, biasInitializer: .zeros)
        windowLogits = Parameter([c.windows.count], initializer: .zeros)
        windowNorm = LayerNorm(c.neurons)
        memory1 = GPTFeedForward(c.neurons, hidden: c.memory, weights: normal, residualWeights: residual)
        memory2Norm = LayerNorm(c.neurons)
        memory2 = GPTFeedForward(c.neurons, hidden: c.memory, weights: normal, residualWeights: residual)
        finalNorm = LayerNorm(c.neurons)
        head = Linear(c.neurons, c.vocabulary, bias: false, weightInitializer: normal)
    }

    /// The window weights `[windows]`: the softmax of the window logits.
    public func windowWeights() throws -> Tensor { try windowLogits.tensor.softmax(axis: 0) }

    /// Logits `[rows, vocabulary]` of the mixed window means `w` `[rows, neurons]`: ln_windows,
    /// memory 1, memory 2 on their sum, the final norm and the logit layer.
    public func logits(windowMeans w: Tensor) throws -> Tensor {
        let normed = try windowNorm(w)
        let combined = try normed + memory1(normed)
        let h = try combined + memory2(memory2Norm(combined))
        return try head(finalNorm(h))
    }
}

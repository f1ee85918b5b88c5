import TensorGraph

/// What a babyLLM does with a prompt, for learners: the learned window weights (the softmax of
/// the window logits, per window length), every neuron's activation at every position, and the
/// next-token logits, from one forward pass.
public struct BabyLLMInspection: Sendable {
    /// The prompt's tokens.
    public let tokens: [Int32]
    /// Each window length with its weight in the mix (the weights sum to 1).
    public let windowWeights: [(window: Int, weight: Float)]
    /// `activations[position][neuron]`: the neuron layer's output (after the GELU).
    public let activations: [[Float]]
    /// Logits for the token after the prompt.
    public let nextLogits: [Float]

    /// Runs `tokens` (1 to block size of them) through the model on `backend`.
    /// - Throws: ``GraphError`` naming the length when it is outside 1 … block size.
    public init(_ model: BabyLLMConfiguration, parameters: [String: TensorData], tokens: [Int32], backend: any Backend) throws {
        let t = tokens.count
        guard (1...model.blockSize).contains(t) else {
            throw GraphError(op: "babyllm inspect", shapes: [], expected: "1 to \(model.blockSize) tokens", message: "got \(t) tokens")
        }
        let forward = try BabyLLMModel.forward(model, batch: 1, sequence: t)
        let plan = try backend.compile(forward.graph, outputs: [forward.logits, forward.activations, forward.windowWeights],
                                       options: CompileOptions())
        try forward.model.load(parameters, into: plan)
        let outputs = try plan.run(BabyLLMModel.forwardFeeds(tokens: tokens, batch: 1, sequence: t))
        let (v, n) = (model.vocabulary, model.neurons)
        self.tokens = tokens
        nextLogits = Array(outputs[0].floats[((t - 1) * v)..<(t * v)])
        activations = (0..<t).map { Array(outputs[1].floats[($0 * n)..<(($0 + 1) * n)]) }
        windowWeights = Array(zip(model.windows, outputs[2].floats))
    }

    /// The `count` neurons with the largest activation at `position`, largest first.
    public func topNeurons(at position: Int, count: Int) -> [(neuron: Int, activation: Float)] {
        Self.top(activations[position], count: count)
    }

    /// The `count` neurons with the largest mean activation over the prompt, largest first.
    public func topNeuronsOverall(count: Int) -> [(neuron: Int, activation: Float)] {
        let positions = Float(activations.count)
        let means = activations.dropFirst().reduce(activations[0]) { zip($0, $1).map(+) }.map { $0 / positions }
        return Self.top(means, count: count)
    }

    private static func top(_ values: [Float], count: Int) -> [(neuron: Int, activation: Float)] {
        values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
            .prefix(count).map { ($0, values[$0]) }
    }
}

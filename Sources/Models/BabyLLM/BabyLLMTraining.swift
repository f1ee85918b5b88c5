import TensorGraph

/// Trains a babyLLM on a backend with the shared ``TrainingPlan`` (forward, cross-entropy,
/// backward, clipping and AdamW in one plan, one run per step). AdamW decays the matrices and
/// the embedding, not the biases, norm gains or window logits (nanoGPT's grouping, as the GPT's).
public final class BabyLLMTrainer: StepTrainer {
    public let model: BabyLLMConfiguration
    /// Sequences per step.
    public let batchSize: Int
    /// Seeds the training batches (batch `s` depends only on this and `s`, so resuming is exact).
    public let dataSeed: UInt64
    public let trainingPlan: TrainingPlan
    private let source: any SequenceSource

    /// Compiles the training step of `model` on `backend` over random batches of `data`.
    /// - Parameters:
    ///   - parameters: initial weights (``BabyLLMModel/initialParameters(_:seed:)`` or a checkpoint's).
    ///   - optimizerState: AdamW moments by name to resume (zeros when missing); `step` the steps already taken.
    ///   - method: how the windowed means are computed.
    public init(model: BabyLLMConfiguration, settings: OptimizerSettings, batchSize: Int, data: any SequenceSource,
                backend: any Backend, parameters: [String: TensorData], optimizerState: [String: TensorData] = [:],
                step: Int = 0, dataSeed: UInt64 = 1, method: WindowMeanMethod = .default,
                options: CompileOptions = CompileOptions()) throws {
        self.model = model
        self.batchSize = batchSize
        self.dataSeed = dataSeed
        self.source = data
        let forward = try BabyLLMModel.forward(model, batch: batchSize, sequence: data.length, method: method)
        let loss = try BabyLLMModel.loss(forward, batch: batchSize, sequence: data.length)
        let variables = try forward.model.parameters()
        trainingPlan = try TrainingPlan(graph: forward.graph, loss: loss, parameters: variables,
                                        decayed: variables.map { GPTConfiguration.isDecayed($0.name, shape: $0.tensor.shape) },
                                        settings: settings, backend: backend, initialValues: parameters,
                                        optimizerState: optimizerState, step: step, options: options)
    }

    /// A random batch for the next step.
    public func nextFeeds() -> [String: TensorData] {
        BabyLLMModel.feeds(SequenceBatch.training(source, batch: batchSize, step: step, seed: dataSeed),
                           batch: batchSize, sequence: source.length)
    }
}

extension BabyLLMModel {
    /// The name of the targets input (i32 `[batch·sequence]`, −1 ignored).
    static let targetsInput = "targets"

    /// The mean cross-entropy of a forward pass's logits against a new targets input.
    static func loss(_ forward: Forward, batch: Int, sequence: Int) throws -> Tensor {
        let targets = try forward.graph.input(targetsInput, [batch * sequence], dtype: .i32)
        return try crossEntropy(logits: forward.logits, targets: targets, ignoreIndex: ignoredTarget)
    }

    /// The tokens and targets of a batch.
    static func feeds(_ batch: SequenceBatch, batch size: Int, sequence: Int) -> [String: TensorData] {
        var feeds = forwardFeeds(tokens: batch.inputs, batch: size, sequence: sequence)
        feeds[targetsInput] = TensorData(shape: [size * sequence], ints: batch.targets)
        return feeds
    }
}

/// The loss of a split: the mean cross-entropy over every counted target of its evaluation
/// examples (each name once, or the stream once in non-overlapping windows), as ``GPTEvaluator``.
public final class BabyLLMEvaluator {
    public let model: BabyLLMConfiguration
    /// Evaluation sequences per plan run (the last batch is padded with ignored rows).
    public let batchSize: Int
    /// Positions per sequence (the data's length).
    public let sequence: Int
    private let plan: any Plan

    /// Compiles the forward pass and masked loss for `batchSize` sequences of `sequence` tokens.
    public init(_ model: BabyLLMConfiguration, sequence: Int, batchSize: Int = 64, backend: any Backend,
                method: WindowMeanMethod = .default, options: CompileOptions = CompileOptions()) throws {
        self.model = model
        self.batchSize = batchSize
        self.sequence = sequence
        let forward = try BabyLLMModel.forward(model, batch: batchSize, sequence: sequence, method: method)
        plan = try backend.compile(forward.graph, outputs: [try BabyLLMModel.loss(forward, batch: batchSize, sequence: sequence)],
                                   options: options)
    }

    /// Uploads weights (all of the model's, by name).
    public func setParameters(_ parameters: [String: TensorData]) throws {
        for (name, value) in parameters { try plan.setVariable(name, value) }
    }

    /// The token-weighted mean cross-entropy over every evaluation example of `source`.
    /// - Throws: ``GraphError`` when `source`'s sequences are not this evaluator's length.
    public func loss(of source: some SequenceSource) throws -> Double {
        guard source.length == sequence else {
            throw GraphError(op: "babyllm eval", shapes: [], expected: "sequences of \(sequence) tokens",
                             message: "the data has sequences of \(source.length)")
        }
        return try SequenceBatch.meanLoss(of: source, batchSize: batchSize) { batch in
            try plan.run(BabyLLMModel.feeds(batch, batch: batchSize, sequence: sequence))[0].floats[0]
        }
    }
}

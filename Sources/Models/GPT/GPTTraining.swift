import TensorGraph

/// Trains a GPT on a backend: forward, masked cross-entropy, backward, clipping and AdamW in one
/// plan, one run per step (steps can be enqueued without waiting).
public final class GPTTrainer: StepTrainer {
    public let model: GPTConfiguration
    /// Sequences per step.
    public let batchSize: Int
    /// Seeds the training batches (batch `s` depends only on this and `s`, so resuming is exact).
    public let dataSeed: UInt64
    public let trainingPlan: TrainingPlan
    private let source: any SequenceSource

    /// The dropout rate of training (see ``GPTModel/forward(_:batch:sequence:in:attentionMaps:weightFormats:dropout:)``).
    public let dropout: Float

    /// Compiles the training step of `model` on `backend` over random batches of `data`.
    /// - Parameters:
    ///   - parameters: initial weights (``GPTModel/initialParameters(_:seed:)`` or a checkpoint's).
    ///   - optimizerState: AdamW moments by name to resume (zeros when missing); `step` the steps already taken.
    ///   - options: compile options (e.g. the attention lowering).
    public init(model: GPTConfiguration, settings: OptimizerSettings, batchSize: Int, data: any SequenceSource,
                backend: any Backend, parameters: [String: TensorData], optimizerState: [String: TensorData] = [:],
                step: Int = 0, dataSeed: UInt64 = 1, dropout: Float = 0, options: CompileOptions = CompileOptions()) throws {
        self.model = model
        self.batchSize = batchSize
        self.dataSeed = dataSeed
        self.dropout = dropout
        self.source = data
        let forward = try GPTModel.forward(model, batch: batchSize, sequence: data.length, dropout: dropout)
        let targets = try forward.graph.input("targets", [batchSize * data.length], dtype: .i32)
        let loss = try crossEntropy(logits: forward.logits, targets: targets, ignoreIndex: ignoredTarget)
        let variables = try forward.model.parameters()
        trainingPlan = try TrainingPlan(graph: forward.graph, loss: loss, parameters: variables,
                                decayed: variables.map { GPTConfiguration.isDecayed($0.name, shape: $0.tensor.shape) },
                                settings: settings, backend: backend, initialValues: parameters,
                                optimizerState: optimizerState, step: step, options: options)
    }

    /// A random batch for the next step (and its dropout seed).
    public func nextFeeds() -> [String: TensorData] {
        let batch = SequenceBatch.training(source, batch: batchSize, step: step, seed: dataSeed)
        var feeds = GPTModel.feeds(model, batch: batch, batchSize: batchSize, sequence: source.length)
        if dropout > 0 {
            // A new mask every step, reproducible from the data seed (so resuming redraws the same ones).
            feeds[GPTModel.dropoutSeedInput] = TensorData(shape: [1], ints: [Int32(truncatingIfNeeded: dataSeed &* 31 &+ UInt64(step))])
        }
        return feeds
    }
}

extension GPTModel {
    /// The inputs of a forward pass over `tokens` `[batch·sequence]`: the tokens and, for rotary
    /// positions, the tables of positions `0..<sequence`.
    public static func forwardFeeds(_ c: GPTConfiguration, tokens: [Int32], batch: Int, sequence: Int) -> [String: TensorData] {
        var feeds = ["tokens": TensorData(shape: [batch, sequence], ints: tokens)]
        if c.positions == .rotary {
            let (cos, sin) = ropeTables(c, count: sequence)
            feeds[ropeInputs.0] = cos
            feeds[ropeInputs.1] = sin
        }
        return feeds
    }

    /// ``forwardFeeds(_:tokens:batch:sequence:)`` of a batch, with its targets.
    static func feeds(_ c: GPTConfiguration, batch: SequenceBatch, batchSize: Int, sequence: Int) -> [String: TensorData] {
        var feeds = forwardFeeds(c, tokens: batch.inputs, batch: batchSize, sequence: sequence)
        feeds["targets"] = TensorData(shape: [batchSize * sequence], ints: batch.targets)
        return feeds
    }
}

/// The loss of a split: the mean cross-entropy over every counted target of its evaluation examples
/// (each name once; or the stream once in non-overlapping windows).
public final class GPTEvaluator {
    public let model: GPTConfiguration
    /// Evaluation sequences per plan run (the last batch is padded with ignored rows).
    public let batchSize: Int
    /// Positions per sequence (the data's length).
    public let sequence: Int
    private let plan: any Plan

    /// Compiles the forward pass and masked loss for `batchSize` sequences of `sequence` tokens;
    /// `weightFormats` names quantized weights (a quantized checkpoint evaluates as it is).
    public init(_ model: GPTConfiguration, sequence: Int, batchSize: Int = 64, backend: any Backend,
                weightFormats: [String: QuantFormat] = [:], options: CompileOptions = CompileOptions()) throws {
        self.model = model
        self.batchSize = batchSize
        self.sequence = sequence
        let forward = try GPTModel.forward(model, batch: batchSize, sequence: sequence, weightFormats: weightFormats)
        let targets = try forward.graph.input("targets", [batchSize * sequence], dtype: .i32)
        let loss = try crossEntropy(logits: forward.logits, targets: targets, ignoreIndex: ignoredTarget)
        plan = try backend.compile(forward.graph, outputs: [loss], options: options)
    }

    /// Uploads weights (all of the model's, by name).
    public func setParameters(_ parameters: [String: TensorData]) throws {
        for (name, value) in parameters { try plan.setVariable(name, value) }
    }

    /// The token-weighted mean cross-entropy over every evaluation example of `source`.
    public func loss(of source: some SequenceSource) throws -> Double {
        precondition(source.length == sequence, "evaluator built for sequence \(sequence), data has \(source.length)")
        return try SequenceBatch.meanLoss(of: source, batchSize: batchSize) { batch in
            try plan.run(GPTModel.feeds(model, batch: batch, batchSize: batchSize, sequence: sequence))[0].floats[0]
        }
    }
}

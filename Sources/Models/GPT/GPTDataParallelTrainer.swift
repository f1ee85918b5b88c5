import TensorGraph

/// Trains a GPT data-parallel: each rank runs forward and backward on its shard of the global
/// batch on its own device, the ranks sum the gradients (``GradientReducer``), and every rank
/// applies the same clipped AdamW update (``DataParallelPlan``), so the weights stay identical.
///
/// The global batch of step `s` is the batch a single ``GPTTrainer`` with `ranks × rankBatch`
/// sequences draws from the same seed; rank `r` trains on its rows `r·rankBatch ..< (r+1)·rankBatch`.
/// Each rank's gradient is weighted by its share of the global batch's counted targets, so the
/// summed gradient is the gradient of the global batch's token-weighted mean loss.
///
/// Dropout masks are drawn per rank (rank 0 with the single process's seed, the others from it
/// and the rank): a mask's hash counts elements within the rank's own tensors, so the shards'
/// masks are independent draws rather than the single process's mask cut into pieces.
public final class GPTDataParallelTrainer: TrainingRun {
    public let model: GPTConfiguration
    /// Sequences per step on this rank.
    public let rankBatch: Int
    /// Seeds the global training batches (as ``GPTTrainer/dataSeed``).
    public let dataSeed: UInt64
    /// The dropout rate of training.
    public let dropout: Float
    /// The collective that sums the gradients.
    public let reducer: any GradientReducer
    /// The compiled gradient and update plans.
    public let plan: DataParallelPlan
    private let source: any SequenceSource

    /// Compiles the split training step of `model` on `backend` for `rankBatch` sequences per rank.
    /// - Parameters:
    ///   - parameters: initial weights (every rank must start from the same ones).
    ///   - optimizerState: AdamW moments by name to resume (zeros when missing); `step` the steps already taken.
    public init(model: GPTConfiguration, settings: OptimizerSettings, rankBatch: Int, data: any SequenceSource,
                backend: any Backend, reducer: any GradientReducer, parameters: [String: TensorData],
                optimizerState: [String: TensorData] = [:], step: Int = 0, dataSeed: UInt64 = 1, dropout: Float = 0,
                options: CompileOptions = CompileOptions()) throws {
        self.model = model
        self.rankBatch = rankBatch
        self.dataSeed = dataSeed
        self.dropout = dropout
        self.reducer = reducer
        self.source = data
        let forward = try GPTModel.forward(model, batch: rankBatch, sequence: data.length, dropout: dropout)
        let targets = try forward.graph.input("targets", [rankBatch * data.length], dtype: .i32)
        let loss = try crossEntropy(logits: forward.logits, targets: targets, ignoreIndex: ignoredTarget)
        let variables = try forward.model.parameters()
        plan = try DataParallelPlan(graph: forward.graph, loss: loss, parameters: variables,
                                    decayed: variables.map { GPTConfiguration.isDecayed($0.name, shape: $0.tensor.shape) },
                                    settings: settings, backend: backend, initialValues: parameters,
                                    optimizerState: optimizerState, step: step, options: options)
    }

    /// Sequences per step over all ranks.
    public var globalBatch: Int { rankBatch * reducer.size }

    public var step: Int { plan.step }

    public var learningRate: Float { plan.learningRate }

    /// This rank's inputs for step `step + 1` and its weight: its counted targets over the global batch's.
    public func shard() -> (feeds: [String: TensorData], weight: Float) {
        let global = SequenceBatch.training(source, batch: globalBatch, step: step, seed: dataSeed)
        let row = source.length
        let rows = (reducer.rank * rankBatch * row)..<((reducer.rank + 1) * rankBatch * row)
        let batch = SequenceBatch(inputs: Array(global.inputs[rows]), targets: Array(global.targets[rows]))
        var feeds = GPTModel.feeds(model, batch: batch, batchSize: rankBatch, sequence: row)
        if dropout > 0 {
            let seed = (dataSeed &* 31 &+ UInt64(step)) &+ UInt64(reducer.rank) &* 0x9E37_79B9
            feeds[GPTModel.dropoutSeedInput] = TensorData(shape: [1], ints: [Int32(truncatingIfNeeded: seed)])
        }
        let total = global.counted
        return (feeds, total == 0 ? 1 / Float(reducer.size) : Float(batch.counted) / Float(total))
    }

    /// Forward and backward of this rank's shard of the next step: the fused, weighted buffer to sum.
    public func localGradients() throws -> [Float] {
        let (feeds, weight) = shard()
        // A shard whose targets are all padding adds nothing (its mean loss would be 0/0).
        guard weight > 0 else { return [Float](repeating: 0, count: plan.bufferCount) }
        return try plan.localGradients(feeds, weight: weight)
    }

    /// Applies the next step's summed buffer; returns the global batch's loss.
    @discardableResult
    public func apply(_ summed: [Float]) throws -> Float { try plan.apply(summed) }

    /// One step: this rank's gradients, summed over the ranks, applied. Waits for the sum (every
    /// rank must take the same steps).
    public func enqueueStep() throws {
        let clock = ContinuousClock()
        let start = clock.now
        var buffer = try localGradients()
        let computed = clock.now
        try reducer.allReduceSum(&buffer, step: step + 1)
        let reduced = clock.now
        try apply(buffer)
        timing.steps += 1
        timing.gradientSeconds += Self.seconds(computed - start)
        timing.reduceSeconds += Self.seconds(reduced - computed)
        timing.updateSeconds += Self.seconds(clock.now - reduced)
    }

    /// Where the steps taken with ``enqueueStep()`` spent their time.
    public private(set) var timing = DataParallelTiming()

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    public func takeLossSum() throws -> Double { plan.takeLossSum() }

    public func parameters() throws -> [String: TensorData] { try plan.parameters() }

    public func optimizerState() throws -> [String: TensorData] { try plan.optimizerState() }
}

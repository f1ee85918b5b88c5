import Foundation
import TensorGraph

/// Hyperparameters of MLP training; the defaults are the reference's.
public struct MLPTrainingConfiguration: Codable, Equatable, Sendable {
    public var steps = 50_000
    public var batchSize = 128
    public var learningRate: Float = 7e-4
    /// Cosine decay from `learningRate` to this at `steps`.
    public var finalLearningRate: Float = 0
    public var warmupSteps = 0
    public var weightDecay: Float = 1e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Clip gradients to this global L2 norm (nil: no clipping, as the reference).
    public var gradientClip: Float?

    public init() {}

    public var schedule: LearningRateSchedule {
        .cosine(peak: learningRate, final: finalLearningRate, steps: steps, warmup: warmupSteps)
    }
}

/// Trains the names MLP on a backend: forward, loss, backward and AdamW compiled into one plan,
/// one plan run (one synchronisation) per step; parameters and optimizer state stay on the device.
public final class MLPTrainer {
    public let model: MLPConfiguration
    public let training: MLPTrainingConfiguration
    /// Steps completed (the next step is `step + 1`).
    public private(set) var step: Int
    private let plan: any Plan
    private let update: OptimizerUpdate
    private let batches: WindowBatches
    private let stateNames: [String]

    /// - Parameters:
    ///   - parameters: initial weights (e.g. ``MLPModel/initialParameters(_:seed:)`` or a checkpoint's).
    ///   - optimizerState: AdamW moments by name (`<param>.m`, `<param>.v`) to resume; zeros when empty.
    ///   - step: steps already taken (to resume the schedule, the bias correction and the data position).
    public init(model: MLPConfiguration, training: MLPTrainingConfiguration, data: TokenStream, backend: any Backend,
                parameters: [String: TensorData], optimizerState: [String: TensorData] = [:], step: Int = 0,
                options: CompileOptions = CompileOptions()) throws {
        self.model = model
        self.training = training
        self.step = step
        batches = try WindowBatches(stream: data, context: model.context, batchSize: training.batchSize)
        let built = try MLPModel.build(model, batch: training.batchSize)
        let targets = try built.graph.input("targets", [training.batchSize], dtype: .i32)
        let loss = try crossEntropy(logits: built.logits, targets: targets)
        let names = model.parameterShapes.map(\.name)
        let weights = names.map { built.parameters[$0]! }
        var grads = try gradients(of: loss, wrt: weights)
        if let clip = training.gradientClip { grads = try clipByGlobalNorm(grads, maxNorm: clip) }
        update = try adamW(parameters: weights, gradients: grads, configuration: AdamWConfiguration(
            beta1: training.beta1, beta2: training.beta2, epsilon: training.epsilon, weightDecay: training.weightDecay))
        // The batch losses are summed on the device, so steps need not wait for their loss.
        let lossSum = try built.graph.variable(Self.lossSumName, [])
        plan = try backend.compile(built.graph, outputs: [loss],
                                   assignments: update.assignments + [try Assignment(lossSum, lossSum + loss)], options: options)
        try plan.setVariable(Self.lossSumName, TensorData(scalar: 0))
        stateNames = update.stateVariables.map(\.name)

        for name in names {
            guard let value = parameters[name] else { throw PlanError.variableNotSet(name: name) }
            try plan.setVariable(name, value)
        }
        let zeros = update.initialState()
        for name in stateNames {
            let short = String(name.dropFirst("optimizer/".count))
            try plan.setVariable(name, optimizerState[short] ?? zeros[name]!)
        }
    }

    static let lossSumName = "training.loss_sum"

    /// The learning rate of the next step.
    public var learningRate: Float { training.schedule.rate(atStep: step) }

    /// Runs one training step on the next batch and waits for it; returns its loss (before the update).
    @discardableResult
    public func trainStep() throws -> Float {
        let loss = try plan.run(feeds())[0].floats[0]
        step += 1
        return loss
    }

    /// Enqueues one training step without waiting for it: the loss is added to a sum on the
    /// device (read with ``takeLossSum()``), so consecutive steps run with no host round trip.
    public func enqueueStep() throws {
        try plan.enqueue(feeds())
        step += 1
    }

    /// Waits for the enqueued steps and returns the sum of the batch losses since the last call
    /// (steps run with ``trainStep()`` included), resetting it.
    public func takeLossSum() throws -> Double {
        try plan.synchronize()
        let sum = try plan.variable(Self.lossSumName).floats[0]
        try plan.setVariable(Self.lossSumName, TensorData(scalar: 0))
        return Double(sum)
    }

    private func feeds() -> [String: TensorData] {
        let batch = batches.batch(step)
        var feeds = update.feeds(step: step + 1, learningRate: learningRate)
        feeds["contexts"] = TensorData(shape: [training.batchSize, model.context], ints: batch.contexts)
        feeds["targets"] = TensorData(shape: [training.batchSize], ints: batch.targets)
        return feeds
    }

    /// The current weights (downloaded from the device, after the enqueued steps).
    public func parameters() throws -> [String: TensorData] {
        try plan.synchronize()
        var result: [String: TensorData] = [:]
        for name in model.parameterShapes.map(\.name) { result[name] = try plan.variable(name) }
        return result
    }

    /// The AdamW moments, named without the `optimizer/` prefix (as checkpoints store them).
    public func optimizerState() throws -> [String: TensorData] {
        try plan.synchronize()
        var result: [String: TensorData] = [:]
        for name in stateNames { result[String(name.dropFirst("optimizer/".count))] = try plan.variable(name) }
        return result
    }
}

import TensorGraph

/// AdamW hyperparameters and the schedule shared by every model's training.
public struct OptimizerSettings: Codable, Equatable, Sendable {
    /// The peak learning rate (after the warm-up).
    public var learningRate: Float
    /// Cosine decay from `learningRate` to this at `steps`.
    public var finalLearningRate: Float
    /// Linear warm-up steps from 0 to `learningRate`.
    public var warmupSteps: Int
    /// The schedule's length (training steps in total).
    public var steps: Int
    /// AdamW's decoupled weight decay (on the parameters the trainer marks decayed).
    public var weightDecay: Float
    /// AdamW's moment decay rates and denominator epsilon.
    public var beta1: Float = 0.9, beta2: Float, epsilon: Float = 1e-8
    /// Clip gradients to this global L2 norm (nil: no clipping).
    public var gradientClip: Float?

    /// Memberwise; β1 0.9, β2 0.999, ε 1e-8 and no clipping unless given.
    public init(learningRate: Float, finalLearningRate: Float, warmupSteps: Int = 0, steps: Int, weightDecay: Float,
                beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, gradientClip: Float? = nil) {
        self.learningRate = learningRate
        self.finalLearningRate = finalLearningRate
        self.warmupSteps = warmupSteps
        self.steps = steps
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.gradientClip = gradientClip
    }

    /// Warm-up, then cosine decay to `finalLearningRate` at `steps`.
    public var schedule: LearningRateSchedule {
        .cosine(peak: learningRate, final: finalLearningRate, steps: steps, warmup: warmupSteps)
    }
}

/// One compiled training step for any model: forward, loss, backward, gradient clipping and the
/// AdamW update in one plan, run once per step with one synchronisation (or none: steps can be
/// enqueued back to back, their losses summed on the device). Parameters and optimizer state
/// stay on the device.
public final class TrainingPlan {
    /// Steps completed (the next step is `step + 1`).
    public var step: Int { optimizer.completedSteps }
    /// The optimizer's hyperparameters and schedule.
    public let settings: OptimizerSettings
    private let optimizer: Optimizer
    private let plan: any Plan

    static let lossSumName = "training.loss_sum"

    /// - Parameters:
    ///   - loss: the scalar loss in `graph`, whose inputs are fed per step.
    ///   - parameters: the trained variables, by name, in a fixed order.
    ///   - decayed: which parameters AdamW decays (nil: all).
    ///   - initialValues: starting weights; `optimizerState` AdamW moments by name (`<param>.m`,
    ///     `<param>.v`) to resume, zeros when missing; `step` the steps already taken.
    public init(graph: Graph, loss: Tensor, parameters: [(name: String, tensor: Tensor)], decayed: [Bool]? = nil,
                settings: OptimizerSettings, backend: any Backend, initialValues: [String: TensorData],
                optimizerState: [String: TensorData] = [:], step: Int = 0, options: CompileOptions = CompileOptions()) throws {
        self.settings = settings
        let decayedNames = decayed.map { flags in Set(zip(parameters, flags).filter(\.1).map(\.0.name)) }
        optimizer = try Optimizer(.adamW(AdamWConfiguration(beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.epsilon,
                                                            weightDecay: settings.weightDecay)),
                                  learningRate: settings.schedule, minimizing: loss, parameters: parameters,
                                  decayed: decayedNames.map { names in { name, _ in names.contains(name) } },
                                  gradientClip: settings.gradientClip)
        let lossSum = try graph.variable(Self.lossSumName, [])
        plan = try optimizer.compile(on: backend, initialValues: initialValues, state: optimizerState, completedSteps: step,
                                     assignments: [try Assignment(lossSum, lossSum + loss)], options: options)
        try plan.setVariable(Self.lossSumName, TensorData(scalar: 0))
    }

    /// The learning rate of the next step.
    public var learningRate: Float { optimizer.nextLearningRate }

    /// Runs the next step with `feeds` (the model's inputs) and waits; returns its loss before the update.
    @discardableResult
    public func run(_ feeds: [String: TensorData]) throws -> Float { try optimizer.step(feeds) }

    /// Enqueues the next step without waiting; its loss is added to the sum read by ``takeLossSum()``.
    public func enqueue(_ feeds: [String: TensorData]) throws { try optimizer.enqueueStep(feeds) }

    /// Waits for the enqueued steps and returns the sum of their losses (steps run with ``run(_:)``
    /// included) since the last call, resetting it.
    public func takeLossSum() throws -> Double {
        try plan.synchronize()
        let sum = try plan.variable(Self.lossSumName).floats[0]
        try plan.setVariable(Self.lossSumName, TensorData(scalar: 0))
        return Double(sum)
    }

    /// The current weights (downloaded after the enqueued steps).
    public func parameters() throws -> [String: TensorData] { try optimizer.parameterValues() }

    /// The AdamW moments, named without the `optimizer/` prefix (as checkpoints store them).
    public func optimizerState() throws -> [String: TensorData] { try optimizer.state() }
}

/// A model trainer: a compiled ``TrainingPlan`` and the inputs of each next step. The steps,
/// losses and weights come from the plan; a model only says how to build its next batch.
public protocol StepTrainer: TrainingRun {
    /// The compiled training step.
    var trainingPlan: TrainingPlan { get }
    /// The model's inputs (batch, targets, seeds) for step `trainingPlan.step + 1`.
    func nextFeeds() -> [String: TensorData]
}

extension StepTrainer {
    /// Steps completed (the next step is `step + 1`).
    public var step: Int { trainingPlan.step }

    /// The learning rate of the next step.
    public var learningRate: Float { trainingPlan.learningRate }

    /// Runs one training step on the next batch and waits for it; returns its loss (before the update).
    @discardableResult
    public func trainStep() throws -> Float { try trainingPlan.run(nextFeeds()) }

    /// Enqueues one training step without waiting for it: the loss is added to a sum on the
    /// device (read with ``takeLossSum()``), so consecutive steps run with no host round trip.
    public func enqueueStep() throws { try trainingPlan.enqueue(nextFeeds()) }

    /// Waits for the enqueued steps and returns the sum of the batch losses since the last call
    /// (steps run with ``trainStep()`` included), resetting it.
    public func takeLossSum() throws -> Double { try trainingPlan.takeLossSum() }

    /// The current weights (downloaded from the device, after the enqueued steps).
    public func parameters() throws -> [String: TensorData] { try trainingPlan.parameters() }

    /// The AdamW moments, named without the `optimizer/` prefix (as checkpoints store them).
    public func optimizerState() throws -> [String: TensorData] { try trainingPlan.optimizerState() }
}

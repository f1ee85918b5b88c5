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

    public var schedule: LearningRateSchedule { optimizer.schedule }

    /// The optimizer settings these hyperparameters stand for.
    public var optimizer: OptimizerSettings {
        OptimizerSettings(learningRate: learningRate, finalLearningRate: finalLearningRate, warmupSteps: warmupSteps,
                          steps: steps, weightDecay: weightDecay, beta1: beta1, beta2: beta2, epsilon: epsilon,
                          gradientClip: gradientClip)
    }
}

/// Trains the names MLP on a backend: forward, loss, backward and AdamW compiled into one plan,
/// one plan run (one synchronisation) per step; parameters and optimizer state stay on the device.
public final class MLPTrainer: StepTrainer {
    public let model: MLPConfiguration
    public let training: MLPTrainingConfiguration
    public let trainingPlan: TrainingPlan
    private let batches: WindowBatches

    /// - Parameters:
    ///   - parameters: initial weights (e.g. ``MLPModel/initialParameters(_:seed:)`` or a checkpoint's).
    ///   - optimizerState: AdamW moments by name (`<param>.m`, `<param>.v`) to resume; zeros when empty.
    ///   - step: steps already taken (to resume the schedule, the bias correction and the data position).
    public init(model: MLPConfiguration, training: MLPTrainingConfiguration, data: TokenStream, backend: any Backend,
                parameters: [String: TensorData], optimizerState: [String: TensorData] = [:], step: Int = 0,
                options: CompileOptions = CompileOptions()) throws {
        self.model = model
        self.training = training
        batches = try WindowBatches(stream: data, context: model.context, batchSize: training.batchSize)
        let built = try MLPModel.build(model, batch: training.batchSize)
        let targets = try built.graph.input("targets", [training.batchSize], dtype: .i32)
        let loss = try crossEntropy(logits: built.logits, targets: targets)
        trainingPlan = try TrainingPlan(graph: built.graph, loss: loss,
                                parameters: try built.model.parameters(),
                                settings: training.optimizer, backend: backend, initialValues: parameters,
                                optimizerState: optimizerState, step: step, options: options)
    }

    /// The next window batch of the stream.
    public func nextFeeds() -> [String: TensorData] {
        let batch = batches.batch(step)
        return ["contexts": TensorData(shape: [training.batchSize, model.context], ints: batch.contexts),
                "targets": TensorData(shape: [training.batchSize], ints: batch.targets)]
    }
}

/// Which update an ``Optimizer`` applies, with its hyperparameters (the learning rate apart:
/// it follows the optimizer's ``LearningRateSchedule``).
public enum OptimizerRule: Sendable, Hashable {
    /// Stochastic gradient descent (``sgd(parameters:gradients:momentum:weightDecay:)``).
    case sgd(momentum: Float = 0, weightDecay: Float = 0)
    /// AdamW (``adamW(parameters:gradients:configuration:decayed:)``).
    case adamW(AdamWConfiguration = AdamWConfiguration())

    /// The rule's update of `parameters` by `gradients`, appended to their graph.
    func update(parameters: [Tensor], gradients: [Tensor], decayed: [Bool]?) throws -> OptimizerUpdate {
        switch self {
        case .sgd(let momentum, let weightDecay):
            guard decayed == nil else {
                throw GraphError(op: "sgd", shapes: [], expected: "weight decay on every parameter",
                                 message: "per-parameter decay flags are an AdamW option")
            }
            return try TensorGraph.sgd(parameters: parameters, gradients: gradients, momentum: momentum, weightDecay: weightDecay)
        case .adamW(let configuration):
            return try TensorGraph.adamW(parameters: parameters, gradients: gradients, configuration: configuration, decayed: decayed)
        }
    }
}

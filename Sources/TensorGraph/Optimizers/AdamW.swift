import Foundation

/// Hyperparameters of ``adamW(parameters:gradients:configuration:)`` other than the learning rate,
/// which is fed per step (see ``LearningRateSchedule``).
public struct AdamWConfiguration: Sendable, Hashable {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// Decoupled weight decay: each step multiplies parameters by `1 − lr·weightDecay`.
    public var weightDecay: Float

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}

/// AdamW (Loshchilov & Hutter) as graph ops, with PyTorch's update order and bias correction:
///
///     p ← p · (1 − lr·wd)
///     m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
///     p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
///
/// State variables `optimizer/<param>.m` and `optimizer/<param>.v` are added to the graph; the
/// three per-step scalars (`optimizer.decay`, `optimizer.step_size`, `optimizer.sqrt_bias2`) are
/// inputs computed on the host in double precision, so one compiled plan serves every step and
/// any learning-rate schedule. The backend fuses each update into elementwise kernels.
///
/// `decayed`, one flag per parameter, limits the weight decay to some of them (nanoGPT decays
/// matrices and embeddings but not biases and norm gains); nil decays every parameter (PyTorch's
/// default for one parameter group).
public func adamW(parameters: [Tensor], gradients: [Tensor], configuration c: AdamWConfiguration,
                  decayed: [Bool]? = nil) throws -> OptimizerUpdate {
    try checkPairs(parameters, gradients, optimizer: "adamW")
    if let decayed, decayed.count != parameters.count {
        throw GraphError(op: "adamW", shapes: [], expected: "one decay flag per parameter",
                         message: "\(parameters.count) parameters, \(decayed.count) decay flags")
    }
    guard let graph = parameters.first?.graph else {
        return OptimizerUpdate(assignments: [], stateVariables: []) { _, _ in [:] }
    }
    let decay = try graph.input("optimizer.decay", [])
    let stepSize = try graph.input("optimizer.step_size", [])
    let sqrtBias2 = try graph.input("optimizer.sqrt_bias2", [])
    var assignments: [Assignment] = []
    var state: [(String, Shape)] = []
    for (index, (p, g)) in zip(parameters, gradients).enumerated() {
        let name = try parameterName(p, optimizer: "adamW")
        let m = try graph.variable("optimizer/\(name).m", p.shape)
        let v = try graph.variable("optimizer/\(name).v", p.shape)
        let newM = try m * c.beta1 + g * (1 - c.beta1)
        let newV = try v * c.beta2 + g * g * (1 - c.beta2)
        let denominator = try newV.sqrt() / sqrtBias2 + c.epsilon
        let newP = try (decayed?[index] ?? true ? p * decay : p) - stepSize * newM / denominator
        assignments += [try Assignment(m, newM), try Assignment(v, newV), try Assignment(p, newP)]
        state += [("optimizer/\(name).m", p.shape), ("optimizer/\(name).v", p.shape)]
    }
    let beta1 = Double(c.beta1), beta2 = Double(c.beta2), weightDecay = Double(c.weightDecay)
    return OptimizerUpdate(assignments: assignments, stateVariables: state) { step, lr in
        let bias1 = 1 - Foundation.pow(beta1, Double(step)), bias2 = 1 - Foundation.pow(beta2, Double(step))
        return ["optimizer.decay": Float(1 - lr * weightDecay),
                "optimizer.step_size": Float(lr / bias1),
                "optimizer.sqrt_bias2": Float(bias2.squareRoot())]
    }
}

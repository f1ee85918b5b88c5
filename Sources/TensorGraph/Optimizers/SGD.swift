/// Stochastic gradient descent as graph ops, PyTorch's form:
///
///     d ← g + wd·p;   b ← μ·b + d (when μ > 0, else b = d);   p ← p − lr·b
///
/// With momentum, state variables `optimizer/<param>.momentum` are added. The learning rate is
/// the per-step input `optimizer.lr`.
public func sgd(parameters: [Tensor], gradients: [Tensor], momentum: Float = 0, weightDecay: Float = 0) throws -> OptimizerUpdate {
    try checkPairs(parameters, gradients, optimizer: "sgd")
    guard let graph = parameters.first?.graph else {
        return OptimizerUpdate(assignments: [], stateVariables: []) { _, _ in [:] }
    }
    let lr = try graph.input("optimizer.lr", [])
    var assignments: [Assignment] = []
    var state: [(String, Shape)] = []
    for (p, g) in zip(parameters, gradients) {
        let name = try parameterName(p, optimizer: "sgd")
        var direction = weightDecay == 0 ? g : try g + p * weightDecay
        if momentum > 0 {
            let buffer = try graph.variable("optimizer/\(name).momentum", p.shape)
            let newBuffer = try buffer * momentum + direction
            assignments.append(try Assignment(buffer, newBuffer))
            state.append(("optimizer/\(name).momentum", p.shape))
            direction = newBuffer
        }
        assignments.append(try Assignment(p, try p - lr * direction))
    }
    return OptimizerUpdate(assignments: assignments, stateVariables: state) { _, lr in ["optimizer.lr": Float(lr)] }
}

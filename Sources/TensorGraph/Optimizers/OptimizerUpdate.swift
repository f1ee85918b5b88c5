/// What an optimizer adds to a training graph: the assignments that write new parameters and
/// optimizer state at the end of each run, the state variables to zero before the first step,
/// and the per-step scalar inputs (learning rate and bias corrections), computed on the host.
public struct OptimizerUpdate {
    /// New parameters and optimizer state; pass them to `Backend.compile(_:outputs:assignments:options:)`.
    public let assignments: [Assignment]
    /// The optimizer's state variables (name and shape), all starting at zero.
    public let stateVariables: [(name: String, shape: Shape)]
    /// The scalar inputs of one step, from the 1-based step number and the step's learning rate.
    let scalarFeeds: (_ step: Int, _ learningRate: Double) -> [String: Float]

    /// Zeros for every state variable (the state before step 1).
    public func initialState() -> [String: TensorData] {
        Dictionary(uniqueKeysWithValues: stateVariables.map {
            ($0.name, TensorData(shape: $0.shape, floats: [Float](repeating: 0, count: $0.shape.count)))
        })
    }

    /// The inputs to feed for step `step` (counting from 1) at `learningRate`.
    public func feeds(step: Int, learningRate: Float) -> [String: TensorData] {
        precondition(step >= 1, "optimizer steps count from 1")
        return scalarFeeds(step, Double(learningRate)).mapValues { TensorData(scalar: $0) }
    }
}

/// The name of a parameter tensor (a variable), for naming its optimizer state.
func parameterName(_ parameter: Tensor, optimizer: String) throws -> String {
    guard case .variable(let name) = parameter.node.op else {
        throw GraphError(op: optimizer, shapes: [parameter.shape], expected: "parameters that are variables",
                         message: "parameter is a \(parameter.node.op.name)")
    }
    return name
}

/// Checks that parameters and gradients pair up.
func checkPairs(_ parameters: [Tensor], _ gradients: [Tensor], optimizer: String) throws {
    guard parameters.count == gradients.count else {
        throw GraphError(op: optimizer, shapes: [], expected: "one gradient per parameter",
                         message: "\(parameters.count) parameters, \(gradients.count) gradients")
    }
    for (p, g) in zip(parameters, gradients) where p.shape != g.shape {
        throw GraphError(op: optimizer, shapes: [p.shape, g.shape], expected: "a gradient of the parameter's shape",
                         message: "parameter \(p.shape) has a gradient \(g.shape)")
    }
}

/// A compiled training step: the gradients of a loss, an ``OptimizerRule``'s update of the
/// parameters and the plan that runs both, with the step count and learning-rate schedule.
///
/// Everything happens on the backend: ``step(_:)`` runs forward, backward and update as one plan
/// run and returns the loss; parameters and optimizer state stay in the plan between steps.
///
/// ```swift
/// let optimizer = try Optimizer(.adamW(), learningRate: .constant(0.01), minimizing: loss,
///                               parameters: model.parameters(), backend: ReferenceBackend(),
///                               initialValues: model.initialValues())
/// for _ in 0..<100 { print(try optimizer.step(feeds)) }
/// let trained = try model.values(in: optimizer.plan)
/// ```
///
/// The update's state variables (`optimizer/<parameter>.m`, …) and per-step inputs
/// (`optimizer.lr`, …) are added to the loss's graph, so one graph takes one optimizer.
public final class Optimizer {
    /// The update rule.
    public let rule: OptimizerRule
    /// The learning rate of each step.
    public let learningRate: LearningRateSchedule
    /// The update's assignments, state and per-step inputs.
    public let update: OptimizerUpdate
    /// The compiled step: outputs the loss, then writes the new parameters and state.
    public let plan: any Plan
    /// Steps taken (the next is `completedSteps + 1`).
    public private(set) var completedSteps: Int
    private let parameterNames: [String]

    /// Appends the gradients of `loss` and `rule`'s update to `loss`'s graph, compiles them on
    /// `backend`, and sets the parameters to `initialValues` and the optimizer state to `state`
    /// (zeros where missing).
    /// - Parameters:
    ///   - parameters: the trained variables by name (``Module/parameters()``).
    ///   - decayed: for AdamW, which parameters weight decay applies to, by name and shape (nil: all).
    ///   - gradientClip: clips the gradients to this global L2 norm first (``clipByGlobalNorm(_:maxNorm:)``).
    ///   - state: optimizer state by variable name without the `optimizer/` prefix (`hidden.weight.m`), to resume.
    ///   - completedSteps: steps already taken, to resume the schedule and the bias corrections.
    /// - Throws: ``GraphError`` when `loss` is not a one-element tensor or the update does not fit,
    ///   ``PlanError/variableNotSet(name:)`` naming a parameter without an initial value.
    public init(_ rule: OptimizerRule, learningRate: LearningRateSchedule, minimizing loss: Tensor,
                parameters: [(name: String, tensor: Tensor)], decayed: ((String, Shape) -> Bool)? = nil,
                gradientClip: Float? = nil, backend: any Backend, initialValues: [String: TensorData],
                state: [String: TensorData] = [:], completedSteps: Int = 0, options: CompileOptions = CompileOptions()) throws {
        self.rule = rule
        self.learningRate = learningRate
        self.completedSteps = completedSteps
        let weights = parameters.map(\.tensor)
        var grads = try gradients(of: loss, wrt: weights)
        if let gradientClip { grads = try clipByGlobalNorm(grads, maxNorm: gradientClip) }
        update = try rule.update(parameters: weights, gradients: grads,
                                 decayed: decayed.map { decays in parameters.map { decays($0.name, $0.tensor.shape) } })
        plan = try backend.compile(loss.graph, outputs: [loss], assignments: update.assignments, options: options)
        parameterNames = parameters.map(\.name)
        for name in parameterNames {
            guard let value = initialValues[name] else { throw PlanError.variableNotSet(name: name) }
            try plan.setVariable(name, value)
        }
        for (name, zeros) in update.initialState() {
            try plan.setVariable(name, state[String(name.dropFirst(Self.statePrefix.count))] ?? zeros)
        }
    }

    /// The learning rate of the next step.
    public var nextLearningRate: Float { learningRate.rate(atStep: completedSteps) }

    /// Runs the next step on `feeds` (the model's inputs) and waits for it; returns the loss
    /// before the update.
    @discardableResult
    public func step(_ feeds: [String: TensorData]) throws -> Float {
        let optimizerFeeds = update.feeds(step: completedSteps + 1, learningRate: nextLearningRate)
        let loss = try plan.run(feeds.merging(optimizerFeeds) { model, _ in model })[0]
        completedSteps += 1
        return loss.floats[0]
    }

    /// The parameters' current values, by name.
    public func parameterValues() throws -> [String: TensorData] {
        var values: [String: TensorData] = [:]
        for name in parameterNames { values[name] = try plan.variable(name) }
        return values
    }

    /// The optimizer state, named without the `optimizer/` prefix (as checkpoints store it).
    public func state() throws -> [String: TensorData] {
        var values: [String: TensorData] = [:]
        for (name, _) in update.stateVariables { values[String(name.dropFirst(Self.statePrefix.count))] = try plan.variable(name) }
        return values
    }

    private static let statePrefix = "optimizer/"
}

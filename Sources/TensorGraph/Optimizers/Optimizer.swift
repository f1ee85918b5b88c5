/// A training step object: the gradients of a loss and an ``OptimizerRule``'s update of the
/// parameters, added to the loss's graph, then compiled into one plan that ``step(_:)`` runs.
///
/// Everything happens on the backend: a step runs forward, backward and update as one plan run
/// and returns the loss; parameters and optimizer state stay in the plan between steps.
///
/// ```swift
/// let optimizer = try Optimizer(.adamW(), learningRate: .constant(0.01), minimizing: loss,
///                               parameters: model.parameters())
/// try optimizer.compile(on: ReferenceBackend(), initialValues: model.initialValues())
/// for _ in 0..<100 { print(try optimizer.step(feeds)) }
/// let trained = try optimizer.parameterValues()
/// ```
///
/// The update's state variables (`optimizer/<parameter>.m`, …) and per-step inputs
/// (`optimizer.lr`, …) are added to the loss's graph, so one graph takes one optimizer.
/// An optimizer is not `Sendable`: it counts steps, so one thread steps it.
public final class Optimizer {
    /// The update rule.
    public let rule: OptimizerRule
    /// The learning rate of each step.
    public let learningRate: LearningRateSchedule
    /// The loss the steps minimise.
    public let loss: Tensor
    /// The update's assignments, state and per-step inputs.
    public let update: OptimizerUpdate
    /// The compiled step (outputs the loss, then writes the new parameters and state); nil until
    /// ``compile(on:initialValues:state:completedSteps:assignments:options:)``.
    public private(set) var plan: (any Plan)?
    /// Steps taken (the next is `completedSteps + 1`).
    public private(set) var completedSteps = 0
    private let parameterNames: [String]

    /// Appends the gradients of `loss` with respect to `parameters` and `rule`'s update to `loss`'s graph.
    /// - Parameters:
    ///   - parameters: the trained variables by name (``Module/parameters()``).
    ///   - decayed: for AdamW, which parameters weight decay applies to, by name and shape (nil: all).
    ///   - gradientClip: clips the gradients to this global L2 norm first (``clipByGlobalNorm(_:maxNorm:)``).
    /// - Throws: ``GraphError`` when `loss` is not a one-element tensor, a parameter is not a
    ///   variable of its graph, or `decayed` is given to SGD.
    public init(_ rule: OptimizerRule, learningRate: LearningRateSchedule, minimizing loss: Tensor,
                parameters: [(name: String, tensor: Tensor)], decayed: ((String, Shape) -> Bool)? = nil,
                gradientClip: Float? = nil) throws {
        self.rule = rule
        self.learningRate = learningRate
        self.loss = loss
        let weights = parameters.map(\.tensor)
        var grads = try gradients(of: loss, wrt: weights)
        if let gradientClip { grads = try clipByGlobalNorm(grads, maxNorm: gradientClip) }
        update = try rule.update(parameters: weights, gradients: grads,
                                 decayed: decayed.map { decays in parameters.map { decays($0.name, $0.tensor.shape) } })
        parameterNames = parameters.map(\.name)
    }

    /// Compiles the loss and the update on `backend`, sets the parameters to `initialValues` and
    /// the optimizer state to `state` (zeros where missing); returns the plan (also ``plan``).
    /// - Parameters:
    ///   - state: optimizer state by variable name without the `optimizer/` prefix (`hidden.weight.m`), to resume.
    ///   - completedSteps: steps already taken, to resume the schedule and the bias corrections.
    ///   - assignments: further state updates of every step (a running loss sum, …).
    /// - Throws: ``PlanError/variableNotSet(name:)`` naming a parameter without an initial value,
    ///   and the backend's errors.
    @discardableResult
    public func compile(on backend: any Backend, initialValues: [String: TensorData], state: [String: TensorData] = [:],
                        completedSteps: Int = 0, assignments: [Assignment] = [],
                        options: CompileOptions = CompileOptions()) throws -> any Plan {
        let plan = try backend.compile(loss.graph, outputs: [loss], assignments: update.assignments + assignments, options: options)
        for name in parameterNames {
            guard let value = initialValues[name] else { throw PlanError.variableNotSet(name: name) }
            try plan.setVariable(name, value)
        }
        for (name, zeros) in update.initialState() {
            try plan.setVariable(name, state[String(name.dropFirst(Self.statePrefix.count))] ?? zeros)
        }
        self.plan = plan
        self.completedSteps = completedSteps
        return plan
    }

    /// The learning rate of the next step.
    public var nextLearningRate: Float { learningRate.rate(atStep: completedSteps) }

    /// Runs the next step on `feeds` (the model's inputs) and waits for it; returns the loss
    /// before the update.
    @discardableResult
    public func step(_ feeds: [String: TensorData]) throws -> Float {
        let loss = try compiledPlan().run(withOptimizerFeeds(feeds))[0]
        completedSteps += 1
        return loss.floats[0]
    }

    /// Enqueues the next step on `feeds` without waiting for it (``Plan/enqueue(_:)``).
    public func enqueueStep(_ feeds: [String: TensorData]) throws {
        try compiledPlan().enqueue(withOptimizerFeeds(feeds))
        completedSteps += 1
    }

    /// The parameters' current values by name, after the enqueued steps.
    public func parameterValues() throws -> [String: TensorData] {
        let plan = try compiledPlan()
        try plan.synchronize()
        var values: [String: TensorData] = [:]
        for name in parameterNames { values[name] = try plan.variable(name) }
        return values
    }

    /// The optimizer state after the enqueued steps, named without the `optimizer/` prefix (as
    /// checkpoints store it).
    public func state() throws -> [String: TensorData] {
        let plan = try compiledPlan()
        try plan.synchronize()
        var values: [String: TensorData] = [:]
        for (name, _) in update.stateVariables { values[String(name.dropFirst(Self.statePrefix.count))] = try plan.variable(name) }
        return values
    }

    private func compiledPlan() throws -> any Plan {
        guard let plan else {
            throw PlanError.unsupported(op: "optimizer", detail: "not compiled: call compile(on:initialValues:) before stepping")
        }
        return plan
    }

    private func withOptimizerFeeds(_ feeds: [String: TensorData]) -> [String: TensorData] {
        feeds.merging(update.feeds(step: completedSteps + 1, learningRate: nextLearningRate)) { model, _ in model }
    }

    private static let statePrefix = "optimizer/"
}

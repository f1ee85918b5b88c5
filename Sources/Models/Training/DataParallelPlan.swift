import TensorGraph

/// One data-parallel training step split at the gradient exchange: a gradient plan (forward, loss,
/// backward) whose gradients come back to the host in one fused buffer, and an update plan
/// (gradient clipping and AdamW) fed the buffer once the ranks have summed it.
///
/// The fused buffer holds every parameter's gradient in parameter order, then the loss, all scaled
/// by the rank's weight (its share of the global batch's counted targets), so the sum over ranks
/// is the gradient and the loss of the global batch's mean loss. Clipping sees that sum: its norm
/// is the global batch's gradient norm, as in a single process.
///
/// The update plan owns the parameters and the AdamW moments; after each update the new weights
/// are copied into the gradient plan. One plan run per stage: the whole backward runs before the
/// exchange starts.
public final class DataParallelPlan {
    /// Steps completed (the next step is `step + 1`).
    public var step: Int { completedSteps }
    /// The optimizer's hyperparameters and schedule.
    public let settings: OptimizerSettings
    /// The trained parameters, in buffer order.
    public let parameterNames: [String]
    /// The parameters' shapes, in buffer order.
    public let parameterShapes: [Shape]
    /// Elements of the fused buffer: every parameter's, then one for the loss.
    public let bufferCount: Int
    private let gradientPlan: any Plan
    private let updatePlan: any Plan
    private let update: OptimizerUpdate
    private var completedSteps: Int
    private var lossSum = 0.0

    static let gradientPrefix = "gradient/"

    /// - Parameters:
    ///   - loss: the scalar loss in `graph`, whose inputs are fed per step.
    ///   - parameters: the trained variables, by name, in a fixed order (the buffer's).
    ///   - decayed: which parameters AdamW decays (nil: all).
    ///   - initialValues: starting weights; `optimizerState` AdamW moments by name (`<param>.m`,
    ///     `<param>.v`) to resume, zeros when missing; `step` the steps already taken.
    public init(graph: Graph, loss: Tensor, parameters: [(name: String, tensor: Tensor)], decayed: [Bool]? = nil,
                settings: OptimizerSettings, backend: any Backend, initialValues: [String: TensorData],
                optimizerState: [String: TensorData] = [:], step: Int = 0, options: CompileOptions = CompileOptions()) throws {
        self.settings = settings
        parameterNames = parameters.map(\.name)
        parameterShapes = parameters.map(\.tensor.shape)
        bufferCount = parameterShapes.reduce(1) { $0 + $1.count }
        completedSteps = step

        let grads = try gradients(of: loss, wrt: parameters.map(\.tensor))
        gradientPlan = try backend.compile(graph, outputs: [loss] + grads, options: options)

        let updateGraph = Graph()
        var weights: [Tensor] = [], summed: [Tensor] = []
        for (name, shape) in zip(parameterNames, parameterShapes) {
            weights.append(try updateGraph.variable(name, shape))
            summed.append(try updateGraph.input(Self.gradientPrefix + name, shape))
        }
        let clipped = try settings.gradientClip.map { try clipByGlobalNorm(summed, maxNorm: $0) } ?? summed
        update = try adamW(parameters: weights, gradients: clipped,
                           configuration: AdamWConfiguration(beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.epsilon,
                                                             weightDecay: settings.weightDecay),
                           decayed: decayed)
        updatePlan = try backend.compile(updateGraph, outputs: [], assignments: update.assignments, options: options)

        for name in parameterNames {
            guard let value = initialValues[name] else { throw PlanError.variableNotSet(name: name) }
            try gradientPlan.setVariable(name, value)
            try updatePlan.setVariable(name, value)
        }
        for (name, zeros) in update.initialState() {
            try updatePlan.setVariable(name, optimizerState[String(name.dropFirst(Self.statePrefix.count))] ?? zeros)
        }
    }

    /// The learning rate of the next step.
    public var learningRate: Float { settings.schedule.rate(atStep: completedSteps) }

    /// Runs forward and backward on `feeds` and returns the fused buffer (gradients, then the
    /// loss), every element multiplied by `weight`.
    public func localGradients(_ feeds: [String: TensorData], weight: Float) throws -> [Float] {
        let outputs = try gradientPlan.run(feeds)
        var buffer: [Float] = []
        buffer.reserveCapacity(bufferCount)
        for gradient in outputs.dropFirst() { buffer += gradient.floats }
        buffer.append(outputs[0].floats[0])
        if weight != 1 {
            buffer.withUnsafeMutableBufferPointer { elements in
                for i in elements.indices { elements[i] *= weight }
            }
        }
        return buffer
    }

    /// Clips and applies the summed buffer of step `step + 1` (AdamW on the device), copies the
    /// new weights into the gradient plan and returns the step's loss (the buffer's last element).
    @discardableResult
    public func apply(_ summed: [Float]) throws -> Float {
        guard summed.count == bufferCount else {
            throw PlanError.inputShape(name: "data-parallel gradient buffer", expected: [bufferCount], got: [summed.count])
        }
        var feeds = update.feeds(step: completedSteps + 1, learningRate: learningRate)
        var offset = 0
        for (name, shape) in zip(parameterNames, parameterShapes) {
            feeds[Self.gradientPrefix + name] = TensorData(shape: shape, floats: Array(summed[offset..<(offset + shape.count)]))
            offset += shape.count
        }
        _ = try updatePlan.run(feeds)
        for name in parameterNames { try gradientPlan.setVariable(name, try updatePlan.variable(name)) }
        completedSteps += 1
        let loss = summed[offset]
        lossSum += Double(loss)
        return loss
    }

    /// The sum of the applied steps' losses since the last call, resetting it.
    public func takeLossSum() -> Double {
        defer { lossSum = 0 }
        return lossSum
    }

    /// The current weights.
    public func parameters() throws -> [String: TensorData] {
        var values: [String: TensorData] = [:]
        for name in parameterNames { values[name] = try updatePlan.variable(name) }
        return values
    }

    /// The AdamW moments, named without the `optimizer/` prefix (as checkpoints store them).
    public func optimizerState() throws -> [String: TensorData] {
        var values: [String: TensorData] = [:]
        for (name, _) in update.stateVariables { values[String(name.dropFirst(Self.statePrefix.count))] = try updatePlan.variable(name) }
        return values
    }

    private static let statePrefix = "optimizer/"
}

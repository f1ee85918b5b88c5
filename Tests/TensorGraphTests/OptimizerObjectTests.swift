import Testing
@testable import TensorGraph

/// ``Optimizer`` runs the same update as a plan compiled by hand from ``sgd(parameters:gradients:momentum:weightDecay:)``
/// and ``adamW(parameters:gradients:configuration:decayed:)``.
@Suite struct OptimizerObjectTests {
    static let points = TensorData(shape: [4, 3], floats: [0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1])
    static let labels = TensorData(shape: [4], ints: [0, 1, 1, 0])

    /// A fresh graph with the loss of a two-layer net on the XOR points.
    static func lossGraph() throws -> (Graph, Sequential, Tensor) {
        let graph = Graph()
        let net = Sequential(Linear(3, 8), Tanh(), Linear(8, 2))
        try net.declare(in: graph)
        let loss = try crossEntropy(logits: net(graph.input("x", [4, 3])), targets: graph.input("labels", [4], dtype: .i32))
        return (graph, net, loss)
    }

    @Test(arguments: [OptimizerRule.sgd(momentum: 0.9, weightDecay: 0.01), .adamW(AdamWConfiguration(weightDecay: 0.1))])
    func matchesTheUpdateCompiledByHand(rule: OptimizerRule) throws {
        let schedule = LearningRateSchedule.cosine(peak: 0.1, final: 0.01, steps: 8, warmup: 2)
        let (_, net, loss) = try Self.lossGraph()
        let optimizer = try Optimizer(rule, learningRate: schedule, minimizing: loss, parameters: net.parameters())
        let notCompiled = #expect(throws: PlanError.self) { try optimizer.step([:]) }
        #expect(notCompiled?.description.contains("call compile(on:initialValues:)") == true)
        try optimizer.compile(on: ReferenceBackend(), initialValues: net.initialValues(seed: 5))
        let feeds = ["x": Self.points, "labels": Self.labels]
        let losses = try (0..<8).map { _ in try optimizer.step(feeds) }
        #expect(optimizer.completedSteps == 8)

        let (graph, byHand, handLoss) = try Self.lossGraph()
        let weights = try byHand.parameters().map(\.tensor)
        let grads = try gradients(of: handLoss, wrt: weights)
        let update: OptimizerUpdate
        switch rule {
        case .sgd(let momentum, let weightDecay):
            update = try sgd(parameters: weights, gradients: grads, momentum: momentum, weightDecay: weightDecay)
        case .adamW(let configuration):
            update = try adamW(parameters: weights, gradients: grads, configuration: configuration)
        }
        let plan = try ReferenceBackend().compile(graph, outputs: [handLoss], assignments: update.assignments, options: CompileOptions())
        try byHand.load(byHand.initialValues(seed: 5), into: plan)
        for (name, zeros) in update.initialState() { try plan.setVariable(name, zeros) }
        var expected: [Float] = []
        for step in 1...8 {
            let stepFeeds = feeds.merging(update.feeds(step: step, learningRate: schedule.rate(atStep: step - 1))) { a, _ in a }
            expected.append(try plan.run(stepFeeds)[0].floats[0])
        }
        #expect(losses == expected)
        #expect(try optimizer.parameterValues() == byHand.values(in: plan))
        #expect(losses.last! < losses.first!)
        #expect(Set(try optimizer.state().keys) == Set(update.stateVariables.map { String($0.name.dropFirst("optimizer/".count)) }))
    }

    @Test func aMissingInitialValueIsNamed() throws {
        let (_, net, loss) = try Self.lossGraph()
        let optimizer = try Optimizer(.sgd(), learningRate: .constant(0.1), minimizing: loss, parameters: net.parameters())
        #expect(throws: PlanError.variableNotSet(name: "2.bias")) {
            try optimizer.compile(on: ReferenceBackend(), initialValues: net.initialValues().filter { $0.key != "2.bias" })
        }
    }
}

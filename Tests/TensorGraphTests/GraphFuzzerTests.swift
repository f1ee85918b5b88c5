import GraphConformance
import TensorGraph
import Testing

/// The random-graph generator and the shrinker, on the reference backend alone.
@Suite struct GraphFuzzerTests {
    @Test func theSameSeedGivesTheSameGraph() {
        for seed: UInt64 in [1, 2, 99] {
            #expect(GraphFuzzer.generate(seed: seed).description == GraphFuzzer.generate(seed: seed).description)
        }
        #expect(GraphFuzzer.generate(seed: 1).description != GraphFuzzer.generate(seed: 2).description)
    }

    /// Over a few hundred seeds every op of the op set appears (backward ops through `gradients`).
    @Test func graphsCoverEveryOp() throws {
        var names = Set<String>()
        var backward = 0, withAssignments = 0
        for seed: UInt64 in 0..<300 {
            let graph = GraphFuzzer.generate(seed: seed)
            names.formUnion(graph.nodes.map(\.op.name))
            if !graph.assignments.isEmpty { withAssignments += 1 }
            if graph.nodes.contains(where: { $0.op.name == "crossEntropyGrad" || $0.op.name == "embeddingGrad" }) { backward += 1 }
            _ = try graph.build()  // every generated graph builds
        }
        let all = ["input", "variable", "constant", "select", "matmul", "softmax", "logSoftmax", "layerNorm", "rmsNorm", "embedding",
                   "reshape", "permute", "slice", "concat", "crossEntropy", "attention", "embeddingGrad",
                   "crossEntropyGrad", "dropoutMask", "pow", "sum", "mean", "max"]
            + UnaryOp.allCases.map(\.rawValue) + BinaryOp.allCases.map(\.rawValue) + CompareOp.allCases.map(\.rawValue)
        #expect(Set(all).subtracting(names).isEmpty, "never generated: \(Set(all).subtracting(names).sorted())")
        #expect(backward > 0)
        #expect(withAssignments > 0)
    }

    /// A dimension variant keeps the ops of variant 0 for most seeds (the test suite relies on it
    /// to reuse built programs) and changes sizes.
    @Test func dimensionVariantsKeepTheOps() {
        var same = 0, resized = 0
        for seed: UInt64 in 0..<50 {
            var configuration = FuzzConfiguration()
            let base = GraphFuzzer.generate(seed: seed, configuration: configuration)
            configuration.dimensionVariant = 1
            let variant = GraphFuzzer.generate(seed: seed, configuration: configuration)
            if base.nodes.map(\.op.name) == variant.nodes.map(\.op.name) { same += 1 }
            if base.nodes.map(\.shape) != variant.nodes.map(\.shape) { resized += 1 }
        }
        #expect(same >= 35)
        #expect(resized >= 35)
    }

    /// A backend that is wrong on one op (matmul with transposed B) fails the graphs that hold
    /// one, and the shrinker reduces each to a graph around that op.
    @Test func failuresShrinkToTheFaultyOp() throws {
        let runner = FuzzRunner(backend: FaultyBackend(), graphsPerPlan: 4, shrinkChecks: 200)
        let summary = runner.run(seeds: Array(0..<24))
        #expect(!summary.failures.isEmpty)
        for failure in summary.failures {
            #expect(failure.minimal.opCount <= 4, "\(failure)")
            #expect(failure.minimal.nodes.contains { $0.op == .matmul(transposeA: false, transposeB: true) }, "\(failure)")
            #expect(failure.description.contains("seed \(failure.seed)"))
            #expect(failure.description.contains("matmul[tB]"))
        }
        let clean = FuzzRunner(backend: ReferenceBackend(), graphsPerPlan: 4).run(seeds: Array(0..<24))
        #expect(clean.failures.isEmpty && clean.graphs == 24)
    }
}

/// The reference, plus 1 on every output that depends on a `matmul(transposeB: true)`.
private final class FaultyBackend: Backend {
    let name = "faulty"
    func compile(_ graph: Graph, outputs: [Tensor], assignments: [Assignment], options: CompileOptions) throws -> any Plan {
        let plan = try ReferenceBackend().compile(graph, outputs: outputs, assignments: assignments, options: options)
        let faulty = outputs.map { output -> Bool in
            var stack = [output.id], seen = Set<NodeID>()
            while let id = stack.popLast() {
                guard seen.insert(id).inserted else { continue }
                if graph.node(id).op == .matmul(transposeA: false, transposeB: true) { return true }
                stack += graph.node(id).inputs
            }
            return false
        }
        return FaultyPlan(plan: plan, faulty: faulty)
    }
}

private final class FaultyPlan: Plan {
    let plan: any Plan
    let faulty: [Bool]
    init(plan: any Plan, faulty: [Bool]) { self.plan = plan; self.faulty = faulty }
    func run(_ feeds: [String: TensorData]) throws -> [TensorData] {
        zip(try plan.run(feeds), faulty).map { value, isFaulty in
            guard isFaulty, value.dtype == .f32 else { return value }
            return TensorData(shape: value.shape, floats: value.floats.map { $0 + 1 })
        }
    }
    func setVariable(_ name: String, _ value: TensorData) throws { try plan.setVariable(name, value) }
    func variable(_ name: String) throws -> TensorData { try plan.variable(name) }
    var peakMemoryBytes: Int { plan.peakMemoryBytes }
}

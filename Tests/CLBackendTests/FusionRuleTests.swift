import CLBackend
import CLRuntime
import TensorGraph
import Testing

/// Behaviour of individual fusion rules and of the lowering's errors that the model-level suites
/// do not reach.
@Suite struct FusionRuleTests {
    let backend = OpenCLBackend(context: TestDevice.context)

    @Test("g·(ones − y·y) fuses into the matmul whatever shape the constant of ones has, and not for another constant")
    func tanhBackwardMatchesAnyConstantOfOnes() throws {
        let graph = Graph()
        let a = try graph.input("a", [5, 9]), w = try graph.variable("w", [9, 6])
        let y = try graph.input("y", [5, 6])
        let products = [
            try a.matmul(w) * (graph.constant(1, shape: [5, 6]) - y * y),
            try a.matmul(w) * (graph.constant([Float](repeating: 1, count: 6), shape: [6]) - y * y),
            try a.matmul(w) * (graph.constant([Float](repeating: 1, count: 30), shape: [5, 6]) - y * y),
            try a.matmul(w) * (graph.constant(2) - y * y),
        ]
        var random = TestRandom(seed: 21)
        let feeds = ["a": TensorData(shape: [5, 9], floats: random.floats(45)), "y": TensorData(shape: [5, 6], floats: random.floats(30))]
        let weight = TensorData(shape: [9, 6], floats: random.floats(54))
        for (index, product) in products.enumerated() {
            let plan = try backend.compilePlan(graph, outputs: [product])
            let fused = plan.steps.count == 1 && plan.steps[0].variant.hasPrefix("matmul")
            #expect(fused == (index < 3), "product \(index): \(plan.steps.map(\.label))")
            try plan.setVariable("w", weight)
            let reference = try ReferenceBackend().compile(graph, outputs: [product], options: CompileOptions())
            try reference.setVariable("w", weight)
            #expect(nmse(try reference.run(feeds)[0].floats, try plan.run(feeds)[0].floats) < 1e-12, "product \(index)")
        }
    }

    @Test("an i32 variable takes integer values and feeds an embedding")
    func integerVariableFeedsAnEmbedding() throws {
        let graph = Graph()
        let table = try graph.input("table", [4, 3])
        let indices = try graph.variable("indices", [5], dtype: .i32)
        let rows = try embedding(table, indices)
        let feeds = ["table": TensorData(shape: [4, 3], floats: (0..<12).map(Float.init))]
        let chosen = TensorData(shape: [5], ints: [3, 0, 2, 2, 1])
        var results: [[Float]] = []
        for backend in [ReferenceBackend(), backend] as [any Backend] {
            let plan = try backend.compile(graph, outputs: [rows], options: CompileOptions())
            try plan.setVariable("indices", chosen)
            #expect(try plan.variable("indices") == chosen)
            results.append(try plan.run(feeds)[0].floats)
        }
        #expect(results[0] == results[1])
    }

    @Test("assigning one quantized variable to another is refused at compile, not a crash at run time")
    func quantizedAssignmentThrows() throws {
        let graph = Graph()
        let source = try graph.variable("source", [2, 32], dtype: .q8_0)
        let target = try graph.variable("target", [2, 32], dtype: .q8_0)
        let x = try graph.input("x", [1, 32])
        let y = try x.matmul(target, transposeB: true)
        #expect(throws: PlanError.self) {
            _ = try backend.compile(graph, outputs: [y], assignments: [try Assignment(target, source)], options: CompileOptions())
        }
    }
}

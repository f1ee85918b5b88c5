import CLBackend
import Testing
import TensorGraph

/// Elementwise members that are also plan outputs are written by their consumer's fused kernel.
@Suite struct MultiOutputFusionTests {
    @Test func outputsInsideAChainAreWrittenByOneKernel() throws {
        let graph = Graph()
        let x = try graph.input("x", [7, 33])
        let row = try graph.input("row", [33])
        let small = try row * 2                    // an output smaller than the group: stays its own kernel
        let a = try x.exp()                        // full-size output inside the chain: an extra output
        let b = try (a + small).tanh()
        let c = try b * x
        let plan = try OpenCLBackend(context: TestDevice.context).compilePlan(graph, outputs: [a, small, b, c])
        #expect(plan.steps.count == 2, "\(plan.steps.map(\.label))")
        var random = TestRandom(seed: 3)
        let feeds = ["x": TensorData(shape: [7, 33], floats: random.floats(231)),
                     "row": TensorData(shape: [33], floats: random.floats(33))]
        let device = try plan.run(feeds)
        let reference = try ReferenceBackend().compile(graph, outputs: [a, small, b, c], options: CompileOptions()).run(feeds)
        for (d, r) in zip(device, reference) { #expect(nmse(r.floats, d.floats) < 1e-12) }
    }
}

import Foundation
import CLBackend
import Testing
import TensorGraph

/// End-of-run assignments (`variable ← value`): the state updates training steps are made of.
@Suite struct AssignmentTests {
    /// w ← w + x, and w·2 read during the run, on both backends: reads see the value from before
    /// the run; the variable holds the update afterwards; running twice accumulates.
    @Test(arguments: ["reference", "opencl"])
    func updatesApplyAfterTheRun(backendName: String) throws {
        let backend: any Backend = backendName == "opencl" ? OpenCLBackend(context: TestDevice.context) : ReferenceBackend()
        let graph = Graph()
        let w = try graph.variable("w", [5])
        let x = try graph.input("x", [5])
        let doubled = try w * graph.constant(2)
        let plan = try backend.compile(graph, outputs: [doubled], assignments: [try Assignment(w, try (w + x).tanh())],
                                       options: CompileOptions())
        let w0: [Float] = [0.1, -0.2, 0.3, 0.4, -0.5], xs: [Float] = [1, 2, -3, 0.5, 0]
        try plan.setVariable("w", TensorData(shape: [5], floats: w0))
        let first = try plan.run(["x": TensorData(shape: [5], floats: xs)])[0].floats
        #expect(first == w0.map { $0 * 2 })
        let w1 = zip(w0, xs).map { Float(tanh(Double($0 + $1))) }
        let after = try plan.variable("w").floats
        for (a, b) in zip(after, w1) { #expect(abs(a - b) < 1e-6) }
        _ = try plan.run(["x": TensorData(shape: [5], floats: xs)])
        let w2 = zip(w1, xs).map { Float(tanh(Double($0 + $1))) }
        for (a, b) in zip(try plan.variable("w").floats, w2) { #expect(abs(a - b) < 1e-6) }
    }

    /// Several variables updated from each other's old values (a swap) see only old values.
    @Test(arguments: ["reference", "opencl"])
    func simultaneousUpdatesReadOldValues(backendName: String) throws {
        let backend: any Backend = backendName == "opencl" ? OpenCLBackend(context: TestDevice.context) : ReferenceBackend()
        let graph = Graph()
        let a = try graph.variable("a", [3]), b = try graph.variable("b", [3])
        let plan = try backend.compile(graph, outputs: [], assignments: [try Assignment(a, b), try Assignment(b, a)],
                                       options: CompileOptions())
        try plan.setVariable("a", TensorData(shape: [3], floats: [1, 2, 3]))
        try plan.setVariable("b", TensorData(shape: [3], floats: [4, 5, 6]))
        _ = try plan.run([:])
        #expect(try plan.variable("a").floats == [4, 5, 6])
        #expect(try plan.variable("b").floats == [1, 2, 3])
    }

    /// The update is computed before another read of the variable: it must not overwrite the
    /// variable in place (the later read sees the old value), on both backends.
    @Test(arguments: ["reference", "opencl"])
    func updateBeforeALaterReadKeepsTheOldValueForTheRead(backendName: String) throws {
        let backend: any Backend = backendName == "opencl" ? OpenCLBackend(context: TestDevice.context) : ReferenceBackend()
        let graph = Graph()
        let w = try graph.variable("w", [40])
        let tripled = try w * 3                       // the update, lowered first
        let later = try (w + 1).exp()                 // reads w after the update's kernel
        let plan = try backend.compile(graph, outputs: [later], assignments: [try Assignment(w, tripled)], options: CompileOptions())
        let w0 = (0..<40).map { Float($0) / 40 }
        try plan.setVariable("w", TensorData(shape: [40], floats: w0))
        let out = try plan.run([:])[0].floats
        for (a, x) in zip(out, w0) { #expect(abs(a - Float(Foundation.exp(Double(x) + 1))) < 1e-5) }
        #expect(try plan.variable("w").floats == w0.map { $0 * 3 })
    }

    @Test func badAssignmentsAreRefused() throws {
        let graph = Graph()
        let w = try graph.variable("w", [3])
        let x = try graph.input("x", [4])
        #expect(throws: GraphError.self) { try Assignment(w, x) }
        #expect(throws: GraphError.self) { try Assignment(x, x) }
        let twice = [try Assignment(w, w * graph.constant(2)), try Assignment(w, w + graph.constant(1))]
        #expect(throws: PlanError.self) { try ReferenceBackend().compile(graph, outputs: [], assignments: twice, options: CompileOptions()) }
        #expect(throws: PlanError.self) {
            try OpenCLBackend(context: TestDevice.context).compile(graph, outputs: [], assignments: twice, options: CompileOptions())
        }
    }

    /// AdamW's fused update on the device against the reference backend, over a few steps with a
    /// gradient that depends on the parameters (so errors would compound).
    @Test func adamWOnTheDeviceMatchesTheReference() throws {
        func run(_ backend: any Backend) throws -> [Float] {
            let graph = Graph()
            let p = try graph.variable("p", [7, 33])
            let x = try graph.input("x", [7, 33])
            let gradient = try (p - x).tanh()
            let update = try adamW(parameters: [p], gradients: [gradient], configuration: AdamWConfiguration(weightDecay: 0.05))
            let plan = try backend.compile(graph, outputs: [], assignments: update.assignments, options: CompileOptions())
            var random = TestRandom(seed: 5)
            try plan.setVariable("p", TensorData(shape: [7, 33], floats: random.floats(231)))
            for (name, value) in update.initialState() { try plan.setVariable(name, value) }
            let xs = TensorData(shape: [7, 33], floats: random.floats(231))
            for step in 1...4 {
                var feeds = update.feeds(step: step, learningRate: 0.01 * Float(step))
                feeds["x"] = xs
                _ = try plan.run(feeds)
            }
            return try plan.variable("p").floats + plan.variable("optimizer/p.v").floats
        }
        let device = try run(OpenCLBackend(context: TestDevice.context)), reference = try run(ReferenceBackend())
        // One fused kernel computes the gradient (read by both moments, so computed once inside it),
        // m, v and p, writing the last three in place: one launch, no copies.
        let graph = Graph()
        let p = try graph.variable("p", [4])
        let update = try adamW(parameters: [p], gradients: [try p.tanh()], configuration: AdamWConfiguration())
        let plan = try OpenCLBackend(context: TestDevice.context).compilePlan(graph, outputs: [], assignments: update.assignments)
        #expect(plan.endOfRunCopies == 0)
        #expect(plan.steps.count == 1, "\(plan.steps.map(\.label))")
        #expect(nmse(reference, device) < 1e-10)
    }

    /// Runs enqueued without waiting apply their updates in order; a bad index raised by one of
    /// them surfaces at the next synchronisation, and the plan stays usable.
    @Test func enqueuedRunsApplyInOrderAndReportErrorsLater() throws {
        let graph = Graph()
        let table = try graph.variable("table", [4, 2])
        let index = try graph.input("i", [1], dtype: .i32)
        let counter = try graph.variable("counter", [1])
        let picked = try embedding(table, index).sum(axis: -1)
        let plan = try OpenCLBackend(context: TestDevice.context).compile(
            graph, outputs: [picked], assignments: [try Assignment(counter, try counter * 2 + 1)], options: CompileOptions())
        try plan.setVariable("table", TensorData(shape: [4, 2], floats: [1, 2, 3, 4, 5, 6, 7, 8]))
        try plan.setVariable("counter", TensorData(shape: [1], floats: [0]))
        for _ in 0..<5 { try plan.enqueue(["i": TensorData(shape: [1], ints: [2])]) }
        try plan.synchronize()
        #expect(try plan.variable("counter").floats == [31])
        try plan.enqueue(["i": TensorData(shape: [1], ints: [9])])
        try plan.enqueue(["i": TensorData(shape: [1], ints: [1])])
        #expect(throws: PlanError.indexOutOfRangeInEnqueuedRuns(op: "embedding", bound: 4, runs: 2)) { try plan.synchronize() }
        #expect(try plan.run(["i": TensorData(shape: [1], ints: [3])])[0].floats == [15])
    }
}

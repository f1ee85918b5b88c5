import CLBackend
import CLRuntime
import TensorGraph
import Testing

@Suite struct PlanTests {
    let backend = OpenCLBackend(context: TestDevice.context)

    /// x [4, 3] → tanh(x·W1ᵀ + b1) → ·W2ᵀ + b2, the README example.
    private func mlp() throws -> (Graph, Tensor, [String: TensorData]) {
        let graph = Graph()
        let x = try graph.input("x", [4, 3])
        let w1 = try graph.variable("w1", [8, 3]), b1 = try graph.variable("b1", [8])
        let w2 = try graph.variable("w2", [2, 8]), b2 = try graph.variable("b2", [2])
        let hidden = try linear(x, weight: w1, bias: b1).tanh()
        let logits = try linear(hidden, weight: w2, bias: b2)
        var random = TestRandom(seed: 7)
        let variables: [String: TensorData] = [
            "w1": TensorData(shape: [8, 3], floats: random.floats(24)), "b1": TensorData(shape: [8], floats: random.floats(8)),
            "w2": TensorData(shape: [2, 8], floats: random.floats(16)), "b2": TensorData(shape: [2], floats: random.floats(2)),
        ]
        return (graph, logits, variables)
    }

    @Test func mlpMatchesTheReferenceBackend() throws {
        let (graph, logits, variables) = try mlp()
        let input = TensorData(shape: [4, 3], floats: (0..<12).map { Float($0) / 6 - 1 })
        var outputs: [[Float]] = []
        for backend in [ReferenceBackend(), backend] as [any Backend] {
            let plan = try backend.compile(graph, outputs: [logits], options: CompileOptions())
            for (name, value) in variables { try plan.setVariable(name, value) }
            outputs.append(try plan.run(["x": input])[0].floats)
        }
        #expect(nmse(outputs[0], outputs[1]) < 1e-10)
    }

    @Test func elementwiseChainsFuseIntoOneLaunch() throws {
        let graph = Graph()
        let x = try graph.input("x", [5, 7])
        let y = try graph.input("y", [7])
        // 6 elementwise ops, one output: one generated kernel.
        let z = try ((x * y + 1).tanh() * 0.5 - x).relu()
        let plan = try backend.compilePlan(graph, outputs: [z])
        #expect(plan.steps.count == 1)
        #expect(plan.steps[0].variant.hasPrefix("elementwise"))
        let xs = TensorData(shape: [5, 7], floats: (0..<35).map { Float($0) / 10 - 1.5 })
        let ys = TensorData(shape: [7], floats: (0..<7).map { Float($0) / 3 })
        let got = try plan.run(["x": xs, "y": ys])[0].floats
        let reference = try ReferenceBackend().compile(graph, outputs: [z], options: CompileOptions()).run(["x": xs, "y": ys])[0].floats
        #expect(nmse(reference, got) < 1e-12)
    }

    @Test("an activation after matmul (+ bias) runs inside the matmul kernel, unless the pre-activation is read elsewhere")
    func activationFusesIntoTheMatmul() throws {
        let graph = Graph()
        let x = try graph.input("x", [13, 7])
        let w = try graph.variable("w", [27, 7]), b = try graph.variable("b", [27])
        let pre = try linear(x, weight: w, bias: b)
        let activated = [try pre.tanh(), try pre.gelu(), try pre.sigmoid(), try pre.relu(), try x.matmul(w, transposeB: true).tanh()]
        var random = TestRandom(seed: 11)
        let feeds = ["x": TensorData(shape: [13, 7], floats: random.floats(91).map { 3 * $0 })]
        let variables = ["w": TensorData(shape: [27, 7], floats: random.floats(189)), "b": TensorData(shape: [27], floats: random.floats(27))]
        func run(_ backend: any Backend, _ outputs: [Tensor]) throws -> [[Float]] {
            let plan = try backend.compile(graph, outputs: outputs, options: CompileOptions())
            // The last product has no bias: its plan has no "b".
            for (name, value) in variables where name == "w" || outputs.map(\.id) != [activated[4].id] { try plan.setVariable(name, value) }
            return try plan.run(feeds).map(\.floats)
        }
        for output in activated {
            let plan = try backend.compilePlan(graph, outputs: [output])
            #expect(plan.steps.count == 1, "\(plan.steps.map(\.variant))")
            #expect(plan.steps.allSatisfy { $0.variant.hasPrefix("matmul") })
            #expect(nmse(try run(ReferenceBackend(), [output])[0], try run(backend, [output])[0]) < 1e-12)
        }
        // The pre-activation is an output too: it must be stored as is, so the activation runs separately.
        let both = try run(backend, [pre, activated[0]]), expected = try run(ReferenceBackend(), [pre, activated[0]])
        #expect(try backend.compilePlan(graph, outputs: [pre, activated[0]]).steps.count == 2)
        #expect(nmse(expected[0], both[0]) < 1e-12 && nmse(expected[1], both[1]) < 1e-12)
    }

    @Test("g·(1 − y·y) after a matmul g (autograd's tanh backward) runs inside the matmul kernel")
    func tanhBackwardFusesIntoTheMatmul() throws {
        let graph = Graph()
        let a = try graph.input("a", [13, 27]), w = try graph.variable("w", [27, 33])
        let y = try graph.input("y", [13, 33])
        let factor = try 1 - y * y
        let grad = try a.matmul(w) * factor
        var random = TestRandom(seed: 12)
        let feeds = ["a": TensorData(shape: [13, 27], floats: random.floats(351)),
                     "y": TensorData(shape: [13, 33], floats: random.floats(429))]
        let weight = TensorData(shape: [27, 33], floats: random.floats(891))
        var results: [[Float]] = []
        for backend in [ReferenceBackend(), backend] as [any Backend] {
            let plan = try backend.compile(graph, outputs: [grad], options: CompileOptions())
            try plan.setVariable("w", weight)
            results.append(try plan.run(feeds)[0].floats)
        }
        #expect(nmse(results[0], results[1]) < 1e-12)
        let plan = try backend.compilePlan(graph, outputs: [grad])
        #expect(plan.steps.count == 1 && plan.steps[0].variant.hasPrefix("matmul"), "\(plan.steps.map(\.variant))")
        // 1 − y·y also an output: it is stored itself, and the product still comes out right.
        let both = try backend.compile(graph, outputs: [grad, factor], options: CompileOptions())
        try both.setVariable("w", weight)
        #expect(try backend.compilePlan(graph, outputs: [grad, factor]).steps.count >= 2)
        #expect(nmse(results[0], try both.run(feeds)[0].floats) < 1e-12)
    }

    @Test("g·geluSlope(x) after a matmul g (autograd's gelu backward) runs inside the matmul kernel")
    func geluBackwardFusesIntoTheMatmul() throws {
        let graph = Graph()
        let a = try graph.input("a", [13, 27]), w = try graph.variable("w", [27, 33])
        let x = try graph.input("x", [13, 33])
        let slope = try geluSlope(x)
        let grad = try a.matmul(w) * slope
        // Through autograd, the GPT MLP's backward: dH = (dY·w2ᵀ)·gelu′(H) for Y = gelu(H)·w2.
        let w2 = try graph.variable("w2", [33, 7]), u = try graph.input("u", [13, 7])
        let loss = try (a.matmul(w).gelu().matmul(w2) * u).sum(axis: 1).sum(axis: 0)
        let dA = try gradients(of: loss, wrt: [a])[0]
        var random = TestRandom(seed: 13)
        let feeds = ["a": TensorData(shape: [13, 27], floats: random.floats(351, -2, 2)),
                     "x": TensorData(shape: [13, 33], floats: random.floats(429, -4, 4)),
                     "u": TensorData(shape: [13, 7], floats: random.floats(91))]
        let weight = TensorData(shape: [27, 33], floats: random.floats(891))
        let weight2 = TensorData(shape: [33, 7], floats: random.floats(231))
        var results: [[[Float]]] = []
        for backend in [ReferenceBackend(), backend] as [any Backend] {
            let plan = try backend.compile(graph, outputs: [grad, dA], options: CompileOptions())
            try plan.setVariable("w", weight)
            try plan.setVariable("w2", weight2)
            results.append(try plan.run(feeds).map(\.floats))
        }
        #expect(nmse(results[0][0], results[1][0]) < 1e-12)
        #expect(nmse(results[0][1], results[1][1]) < 1e-12)
        let alone = try backend.compilePlan(graph, outputs: [grad])
        #expect(alone.steps.count == 1 && alone.steps[0].variant.hasPrefix("matmul"), "\(alone.steps.map(\.label))")
        // No elementwise launch computes the slope's tanh: the down-projection's dH product does.
        let backward = try backend.compilePlan(graph, outputs: [dA]).steps
        #expect(!backward.contains { $0.variant.hasPrefix("elementwise") && $0.label.contains("tanh") }, "\(backward.map(\.label))")
        // Nor the forward gelu: a·w's launch stores both the pre-activation (read by the slope) and its gelu.
        #expect(!backward.contains { $0.variant.hasPrefix("elementwise") && $0.label.contains("gelu") }, "\(backward.map(\.label))")
        // The slope also an output: its nodes are stored, so nothing is absorbed, and the product still comes out right.
        let both = try backend.compile(graph, outputs: [grad, slope], options: CompileOptions())
        try both.setVariable("w", weight)
        #expect(try backend.compilePlan(graph, outputs: [grad, slope]).steps.count >= 2)
        #expect(nmse(results[0][0], try both.run(feeds)[0].floats) < 1e-12)
    }

    @Test func mlpPlanHasFewerLaunchesThanOpsAndSharesMemory() throws {
        let (graph, logits, _) = try mlp()
        let plan = try backend.compilePlan(graph, outputs: [logits])
        let computeOps = graph.nodes.filter {
            switch $0.op { case .input, .variable, .constant: return false; default: return true }
        }.count
        #expect(plan.steps.count < computeOps)
        #expect(plan.intermediateBytes <= plan.unsharedIntermediateBytes)
    }

    @Test func runValidatesFeeds() throws {
        let (graph, logits, variables) = try mlp()
        let plan = try backend.compile(graph, outputs: [logits], options: CompileOptions())
        let good = TensorData(shape: [4, 3], floats: [Float](repeating: 0, count: 12))
        #expect(throws: PlanError.self) { _ = try plan.run(["x": good]) }  // variables not set
        for (name, value) in variables { try plan.setVariable(name, value) }
        #expect(throws: PlanError.self) { _ = try plan.run([:]) }
        #expect(throws: PlanError.self) { _ = try plan.run(["x": TensorData(shape: [3, 4], floats: good.floats)]) }
        #expect(throws: PlanError.self) { _ = try plan.run(["x": TensorData(shape: [4, 3], ints: [Int32](repeating: 0, count: 12))]) }
        #expect(throws: PlanError.self) { try plan.setVariable("nope", good) }
        #expect(throws: PlanError.self) { try plan.setVariable("w1", good) }
        #expect(try plan.variable("b2") == variables["b2"])
        _ = try plan.run(["x": good])
    }

    /// Token + position embeddings run as one launch; a bad index in either gather is reported
    /// with its own index and bound.
    @Test func twoGathersAddedRunAsOneLaunchAndReportBadIndices() throws {
        let graph = Graph()
        let tokens = try graph.variable("tokens", [5, 3]), positions = try graph.variable("positions", [4, 3])
        let t = try graph.input("t", [2, 4], dtype: .i32), p = try graph.input("p", [4], dtype: .i32)
        let x = try embedding(tokens, t) + embedding(positions, p)
        let plan = try backend.compile(graph, outputs: [x], options: CompileOptions())
        #expect(plan.commandsPerRun == 1)
        try plan.setVariable("tokens", TensorData(shape: [5, 3], floats: (0..<15).map(Float.init)))
        try plan.setVariable("positions", TensorData(shape: [4, 3], floats: (0..<12).map { Float($0) * 100 }))
        let out = try plan.run(["t": TensorData(shape: [2, 4], ints: [4, 0, 1, 2, 3, 3, 0, 1]), "p": TensorData(shape: [4], ints: [0, 1, 2, 3])])[0]
        #expect(Array(out.floats[0..<3]) == [12, 113, 214])  // row 0: token 4 + position 0
        #expect(Array(out.floats[21..<24]) == [903, 1004, 1105])  // row 7: token 1 + position 3
        let badToken = #expect(throws: PlanError.self) {
            _ = try plan.run(["t": TensorData(shape: [2, 4], ints: [4, 0, 1, 2, 3, 6, 0, 1]), "p": TensorData(shape: [4], ints: [0, 1, 2, 3])])
        }
        #expect(badToken == .indexOutOfRange(op: "embedding", index: 6, bound: 5))
        let badPosition = #expect(throws: PlanError.self) {
            _ = try plan.run(["t": TensorData(shape: [2, 4], ints: [4, 0, 1, 2, 3, 3, 0, 1]), "p": TensorData(shape: [4], ints: [0, -2, 2, 3])])
        }
        #expect(badPosition == .indexOutOfRange(op: "embedding", index: -2, bound: 4))
    }

    @Test func outOfRangeEmbeddingIndexIsReported() throws {
        let graph = Graph()
        let table = try graph.variable("table", [5, 3])
        let indices = try graph.input("i", [4], dtype: .i32)
        let rows = try embedding(table, indices)
        let plan = try backend.compile(graph, outputs: [rows], options: CompileOptions())
        try plan.setVariable("table", TensorData(shape: [5, 3], floats: (0..<15).map(Float.init)))
        let good = try plan.run(["i": TensorData(shape: [4], ints: [4, 0, 2, 2])])[0].floats
        #expect(Array(good[0..<3]) == [12, 13, 14])
        let error = #expect(throws: PlanError.self) { _ = try plan.run(["i": TensorData(shape: [4], ints: [1, 7, 0, 0])]) }
        #expect("\(error!)".contains("7"))
    }
}

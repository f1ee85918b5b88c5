import Testing
import TensorGraph

/// Finite-difference checks of the ops the names MLP uses: embedding → reshape → linear → tanh →
/// linear → crossEntropy, then the whole chain end to end.
@Suite struct MLPGradientTests {
    @Test func embeddingWithRepeatedIndices() throws {
        try checkGradients("embedding", [.f32("table", [5, 3], -1, 1), .fixed("idx", ints([2, 3], [4, 0, 4, 1, 4, 0]))]) {
            try embedding($0[0], $0[1])
        }
    }

    @Test func reshape() throws {
        try checkGradients("reshape", [.f32("x", [2, 3, 5], -1, 1)]) { try $0[0].reshape([6, 5]).tanh() }
    }

    @Test func tanh() throws {
        try checkGradients("tanh", [.f32("x", [7], -2, 2)]) { try $0[0].tanh() }
    }

    @Test func linearWithBroadcastBias() throws {
        try checkGradients("linear", [.f32("x", [5, 3], -1, 1), .f32("w", [7, 3], -1, 1), .f32("b", [7], -1, 1)]) {
            try linear($0[0], weight: $0[1], bias: $0[2])
        }
        try checkGradients("linear rank-3", [.f32("x", [2, 3, 5], -1, 1), .f32("w", [1, 5], -1, 1), .f32("b", [1], -1, 1)]) {
            try linear($0[0], weight: $0[1], bias: $0[2])
        }
    }

    @Test func crossEntropyWithIgnoreIndex() throws {
        try checkGradients("crossEntropy", [.f32("logits", [5, 7], -2, 2), .fixed("t", ints([5], [3, 0, 6, 6, 1]))]) {
            try crossEntropy(logits: $0[0], targets: $0[1])
        }
        try checkGradients("crossEntropy ignore", [.f32("logits", [5, 3], -2, 2), .fixed("t", ints([5], [2, -1, 0, -1, 1]))]) {
            try crossEntropy(logits: $0[0], targets: $0[1], ignoreIndex: -1)
        }
    }

    /// The MLP: 3 context characters from a vocabulary of 7, embedding 4, hidden 5, two rows.
    @Test func twoLayerTanhMLP() throws {
        let indices = ints([2, 3], [1, 6, 1, 0, 3, 6])
        try checkGradients("mlp", [.f32("emb", [7, 4], -1, 1), .f32("w1", [5, 12], -0.5, 0.5), .f32("b1", [5], -0.5, 0.5),
                                   .f32("w2", [7, 5], -0.5, 0.5), .f32("b2", [7], -0.5, 0.5),
                                   .fixed("idx", indices), .fixed("t", ints([2], [2, 6]))]) { x in
            let e = try embedding(x[0], x[5]).reshape([2, 12])
            let hidden = try linear(e, weight: x[1], bias: x[2]).tanh()
            let logits = try linear(hidden, weight: x[3], bias: x[4])
            return try crossEntropy(logits: logits, targets: x[6])
        }
    }

    /// The gradient graph of the MLP only touches the ops it needs: no gradient for indices/targets,
    /// a single embeddingGrad, a single crossEntropyGrad, and a zero tensor for an unused wrt.
    @Test func pruningAndUnusedWrt() throws {
        let g = Graph()
        let table = try g.variable("emb", [7, 4]), w = try g.variable("w", [3, 8]), unused = try g.variable("u", [2, 2])
        let idx = try g.input("idx", [5, 2], dtype: .i32), t = try g.input("t", [5], dtype: .i32)
        let loss = try crossEntropy(logits: linear(embedding(table, idx).reshape([5, 8]), weight: w, bias: nil), targets: t)
        let before = g.nodes.count
        let grads = try gradients(of: loss, wrt: [table, w, unused])
        let added = g.nodes[before...].map(\.op.name)
        #expect(added.filter { $0 == "embeddingGrad" }.count == 1)
        #expect(added.filter { $0 == "crossEntropyGrad" }.count == 1)
        #expect(!added.contains("add"), "single contributions need no accumulation: \(added)")
        #expect(grads[2].shape == [2, 2])
        let plan = try ReferenceBackend().compile(g, outputs: [grads[2]], options: CompileOptions())
        #expect(try plan.run([:])[0].floats == [0, 0, 0, 0])
        #expect(throws: GraphError.self) { try gradients(of: loss, wrt: [idx]) }
        #expect(throws: GraphError.self) { try gradients(of: embedding(table, idx), wrt: [table]) }
    }

    /// A wrt tensor may be an intermediate (its own gradient, and its inputs' through it) or the loss itself.
    @Test func wrtIntermediateAndLoss() throws {
        let g = Graph()
        let x = try g.input("x", [3])
        let h = try x * 2
        let loss = try (h * h).sum(axis: 0)
        let grads = try gradients(of: loss, wrt: [h, x, loss])
        let out = try ReferenceBackend().compile(g, outputs: grads, options: CompileOptions())
            .run(["x": TensorData(shape: [3], floats: [1, -2, 0.5])])
        #expect(out[0].floats == [4, -8, 2])      // 2h
        #expect(out[1].floats == [8, -16, 4])     // 2h · 2
        #expect(out[2].floats == [1])
    }

    /// The README's example: forward + backward + SGD update as one plan; the loss goes down.
    @Test func readmeTrainingStepLowersTheLoss() throws {
        let graph = Graph()
        let x = try graph.input("x", [4, 3])
        let w1 = try graph.variable("w1", [8, 3]), b1 = try graph.variable("b1", [8])
        let w2 = try graph.variable("w2", [2, 8]), b2 = try graph.variable("b2", [2])
        let hidden = try linear(x, weight: w1, bias: b1).tanh()
        let logits = try linear(hidden, weight: w2, bias: b2)
        let y = try graph.input("y", [4], dtype: .i32)
        let loss = try crossEntropy(logits: logits, targets: y)
        let params = [w1, b1, w2, b2]
        let grads = try gradients(of: loss, wrt: params)
        let update = try sgd(parameters: params, gradients: grads, momentum: 0.9)
        let step = try ReferenceBackend().compile(graph, outputs: [loss], assignments: update.assignments, options: CompileOptions())
        var rng = XorShiftRandom(seed: 3)
        for p in params { try step.setVariable(variableName(p), TensorData(shape: p.shape, floats: rng.uniformArray(count: p.shape.count, lo: -0.5, hi: 0.5))) }
        for (name, value) in update.initialState() { try step.setVariable(name, value) }
        let feeds = ["x": TensorData(shape: [4, 3], floats: rng.uniformArray(count: 12, lo: -1, hi: 1)), "y": ints([4], [0, 1, 1, 0])]
        var losses: [Float] = []
        for n in 1...20 { losses.append(try step.run(feeds.merging(update.feeds(step: n, learningRate: 0.1)) { a, _ in a })[0].floats[0]) }
        #expect(losses.last! < losses.first! * 0.8, "losses \(losses)")
    }

    private func variableName(_ t: Tensor) -> String {
        if case .variable(let name) = t.node.op { return name }
        return ""
    }
}

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
}

import CLBackend
import GraphConformance
import TensorGraph
import Testing

/// A names-MLP-shaped graph (embedding → linear → tanh → linear → cross-entropy) with one
/// non-finite hidden weight. NaN must reach the loss (NaN in, NaN out); ±Inf saturates tanh to ±1,
/// so the loss stays finite and must match the reference's.
@Suite struct NonFiniteModelTests {
    static let backend = OpenCLBackend(context: TestDevice.context)

    /// Runs the MLP graph on `backend` with `hidden[3, 5] = poison` and returns (loss, logits).
    static func run(_ backend: any Backend, poison: Float) throws -> (Float, [Float]) {
        let vocab = 27, context = 3, embed = 10, hidden = 67, batch = 33
        let graph = Graph()
        let x = try graph.input("x", [batch, context], dtype: .i32)
        let y = try graph.input("y", [batch], dtype: .i32)
        let table = try graph.variable("embedding.weight", [vocab, embed])
        let w1 = try graph.variable("hidden.weight", [hidden, context * embed]), b1 = try graph.variable("hidden.bias", [hidden])
        let w2 = try graph.variable("output.weight", [vocab, hidden]), b2 = try graph.variable("output.bias", [vocab])
        let h = try linear(try embedding(table, x).reshape([batch, context * embed]), weight: w1, bias: b1).tanh()
        let logits = try linear(h, weight: w2, bias: b2)
        let loss = try crossEntropy(logits: logits, targets: y)
        let plan = try backend.compile(graph, outputs: [loss, logits], options: CompileOptions())
        var rng = TestRandom(seed: 15)
        var hiddenWeights = rng.floats(hidden * context * embed, -0.3, 0.3)
        hiddenWeights[3 * context * embed + 5] = poison
        try plan.setVariable("embedding.weight", TensorData(shape: [vocab, embed], floats: rng.floats(vocab * embed)))
        try plan.setVariable("hidden.weight", TensorData(shape: [hidden, context * embed], floats: hiddenWeights))
        try plan.setVariable("hidden.bias", TensorData(shape: [hidden], floats: rng.floats(hidden, -0.1, 0.1)))
        try plan.setVariable("output.weight", TensorData(shape: [vocab, hidden], floats: rng.floats(vocab * hidden, -0.2, 0.2)))
        try plan.setVariable("output.bias", TensorData(shape: [vocab], floats: rng.floats(vocab, -0.1, 0.1)))
        let feeds = ["x": TensorData(shape: [batch, context], ints: (0..<batch * context).map { Int32(($0 * 7) % vocab) }),
                     "y": TensorData(shape: [batch], ints: (0..<batch).map { Int32(($0 * 5) % vocab) })]
        let out = try plan.run(feeds)
        return (out[0].floats[0], out[1].floats)
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func oneNonFiniteHiddenWeightGivesTheReferenceLoss(poison: Float) throws {
        let (expectedLoss, expectedLogits) = try Self.run(ReferenceBackend(), poison: poison)
        let (loss, logits) = try Self.run(Self.backend, poison: poison)
        #expect(expectedLoss.isNaN == poison.isNaN, "reference loss \(expectedLoss) for one \(poison) weight")
        #expect(loss.isNaN == expectedLoss.isNaN, "loss \(loss), reference \(expectedLoss)")
        if expectedLoss.isFinite { #expect(abs(loss - expectedLoss) <= 1e-4 * abs(expectedLoss), "loss \(loss), reference \(expectedLoss)") }
        let mismatches = zip(expectedLogits, logits).filter { e, a in e.isNaN != a.isNaN || (!e.isNaN && !e.isFinite && e != a) }.count
        #expect(mismatches == 0, "\(mismatches) of \(logits.count) logits non-finite on one side only")
    }
}

/// Causal attention with a NaN and an Inf in value rows that the early queries mask: the fused
/// kernels (every variant) never read a masked key's value, so those queries stay finite, as on
/// the reference. (The unfused lowering multiplies the masked probability 0 by the value row;
/// `Op.attention` documents that exception, so it is not run here.)
@Suite struct NonFiniteAttentionTests {
    @Test(arguments: [1, 2, 3, 4])
    func maskedNonFiniteValuesDoNotReachTheQueriesThatMaskThem(variant: Int) throws {
        let bh = 2, t = 37, d = 16, dv = 19
        let graph = Graph()
        let q = try graph.input("q", [bh, t, d]), k = try graph.input("k", [bh, t, d]), v = try graph.input("v", [bh, t, dv])
        let out = try attention(q: q, k: k, v: v, causal: true, scale: nil)
        var rng = TestRandom(seed: 7)
        var values = rng.floats(bh * t * dv)
        values[(0 * t + 20) * dv + 3] = .nan        // head 0, key 20: queries 0...19 mask it
        values[(1 * t + 5) * dv + 11] = .infinity   // head 1, key 5: queries 0...4 mask it
        let feeds = ["q": TensorData(shape: [bh, t, d], floats: rng.floats(bh * t * d)),
                     "k": TensorData(shape: [bh, t, d], floats: rng.floats(bh * t * d)),
                     "v": TensorData(shape: [bh, t, dv], floats: values)]
        let expected = try ReferenceBackend().compile(graph, outputs: [out], options: CompileOptions()).run(feeds)[0].floats
        let options = CompileOptions(attention: .fused, openCL: OpenCLOptions(forcing: AttentionFamily.Variant.number(variant)))
        let actual = try NonFiniteModelTests.backend.compile(graph, outputs: [out], options: options).run(feeds)[0].floats
        let earlyFinite = expected.prefix(20 * dv).allSatisfy { $0.isFinite }
        #expect(earlyFinite, "reference: a masked NaN reached an early query")
        let mismatch = ConformanceRunner.nonFiniteMismatch(reference: expected, actual: actual)
        let oneSided = zip(expected, actual).filter { $0.isFinite != $1.isFinite }.count
        #expect(!mismatch, "variant \(variant): \(oneSided) outputs non-finite on one side only")
        let error = ConformanceRunner.nmse(reference: expected, actual: actual)
        #expect(error < 1e-7, "variant \(variant): nmse \(error)")
    }
}

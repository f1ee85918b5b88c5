import CLBackend
import CLRuntime
import TensorGraph
import Testing

/// One shape of the attention backward.
struct AttentionBackwardCase: CustomStringConvertible, Sendable {
    let batchHeads: Int, queries: Int, keys: Int, headDim: Int, valueDim: Int, causal: Bool
    var description: String {
        "BH\(batchHeads) Tq\(queries) Tk\(keys) D\(headDim) Dv\(valueDim)\(causal ? " causal" : "")"
    }
}

/// The OpenCL attention backward (fused variants 1 and 2, and the decomposition, 0) against the
/// reference's ``Op/attentionGrad(causal:scale:operand:)`` in double, through compiled plans whose
/// outputs are surrounded by guard elements (a write outside dq, dk or dv fails the run).
@Suite(.serialized) struct AttentionBackwardTests {
    static let backend = OpenCLBackend(context: TestDevice.context)

    static let cases: [AttentionBackwardCase] = [
        .init(batchHeads: 3, queries: 1, keys: 1, headDim: 8, valueDim: 8, causal: true),
        .init(batchHeads: 3, queries: 1, keys: 1, headDim: 8, valueDim: 8, causal: false),
        .init(batchHeads: 2, queries: 7, keys: 7, headDim: 13, valueDim: 13, causal: true),
        .init(batchHeads: 2, queries: 7, keys: 7, headDim: 13, valueDim: 5, causal: false),
        .init(batchHeads: 2, queries: 33, keys: 33, headDim: 64, valueDim: 64, causal: true),
        .init(batchHeads: 1, queries: 33, keys: 33, headDim: 8, valueDim: 13, causal: false),
        // One head: the CPU variant splits the 17 key blocks over several work-items (partial dq sums).
        .init(batchHeads: 1, queries: 257, keys: 257, headDim: 8, valueDim: 8, causal: true),
        .init(batchHeads: 1, queries: 257, keys: 257, headDim: 13, valueDim: 8, causal: false),
        // Tq < Tk (a KV cache) and Tq > Tk (causal: the first queries see no key).
        .init(batchHeads: 2, queries: 5, keys: 9, headDim: 13, valueDim: 13, causal: true),
        .init(batchHeads: 2, queries: 9, keys: 5, headDim: 8, valueDim: 8, causal: true),
        .init(batchHeads: 2, queries: 9, keys: 5, headDim: 8, valueDim: 8, causal: false),
        .init(batchHeads: 2, queries: 33, keys: 17, headDim: 13, valueDim: 64, causal: true),
        .init(batchHeads: 2, queries: 20, keys: 37, headDim: 16, valueDim: 16, causal: false),
    ]

    /// q, k, v, dy inputs; y = attention(q, k, v); outputs dq, dk, dv.
    static func graph(_ c: AttentionBackwardCase, scale: Float) throws -> (Graph, [Tensor]) {
        let graph = Graph()
        let q = try graph.input("q", [c.batchHeads, c.queries, c.headDim])
        let k = try graph.input("k", [c.batchHeads, c.keys, c.headDim])
        let v = try graph.input("v", [c.batchHeads, c.keys, c.valueDim])
        let dy = try graph.input("dy", [c.batchHeads, c.queries, c.valueDim])
        let y = try attention(q: q, k: k, v: v, causal: c.causal, scale: scale)
        let grads = try [AttentionOperand.query, .key, .value].map {
            try graph.apply(.attentionGrad(causal: c.causal, scale: scale, operand: $0), [q, k, v, y, dy])
        }
        return (graph, grads)
    }

    static func feeds(_ c: AttentionBackwardCase, seed: UInt64) -> [String: TensorData] {
        var rng = TestRandom(seed: seed)
        return [
            "q": TensorData(shape: [c.batchHeads, c.queries, c.headDim], floats: rng.floats(c.batchHeads * c.queries * c.headDim, -2, 2)),
            "k": TensorData(shape: [c.batchHeads, c.keys, c.headDim], floats: rng.floats(c.batchHeads * c.keys * c.headDim, -2, 2)),
            "v": TensorData(shape: [c.batchHeads, c.keys, c.valueDim], floats: rng.floats(c.batchHeads * c.keys * c.valueDim)),
            "dy": TensorData(shape: [c.batchHeads, c.queries, c.valueDim], floats: rng.floats(c.batchHeads * c.queries * c.valueDim)),
        ]
    }

    @Test("variants 0, 1, 2 match the reference, no write outside the gradients", arguments: cases)
    func matchesReference(_ c: AttentionBackwardCase) throws {
        let scale = defaultAttentionScale(headSize: c.headDim)
        let (graph, grads) = try Self.graph(c, scale: scale)
        let feeds = Self.feeds(c, seed: UInt64(c.queries * 1000 + c.keys * 10 + c.headDim))
        let expected = try ReferenceBackend().compile(graph, outputs: grads, options: CompileOptions()).run(feeds)
        for variant in [0, 1, 2] {
            var options = CompileOptions(openCL: OpenCLOptions(forcing: AttentionBackwardFamily.Variant.number(variant)))
            options.guardElements = 16
            let plan = try Self.backend.compile(graph, outputs: grads, options: options)
            let actual = try plan.run(feeds)
            for (name, (e, a)) in zip(["dq", "dk", "dv"], zip(expected, actual)) {
                let error = nmse(e.floats, a.floats)
                print("attention backward variant \(variant) \(c) \(name): nmse \(error)")
                #expect(error < 1e-10, "variant \(variant) \(c) \(name): nmse \(error)")
            }
        }
    }

    /// y fed as an input, not computed by an attention in the plan: the CPU variant has no saved
    /// statistics and runs its pre-pass (the plan above takes them from the forward).
    @Test("variants 1 and 2 with y an input (statistics recomputed) match the reference",
          arguments: [0, 2, 6, 9].map { cases[$0] })
    func recomputedStatisticsMatchTheReference(_ c: AttentionBackwardCase) throws {
        let scale = defaultAttentionScale(headSize: c.headDim)
        let (computed, computedGrads) = try Self.graph(c, scale: scale)
        var feeds = Self.feeds(c, seed: UInt64(c.queries * 1000 + c.keys * 10 + c.headDim))
        let reference = try ReferenceBackend().compile(computed, outputs: computedGrads, options: CompileOptions())
        let expected = try reference.run(feeds)
        let graph = Graph()
        let inputs = try [("q", c.headDim, c.queries), ("k", c.headDim, c.keys), ("v", c.valueDim, c.keys),
                          ("y", c.valueDim, c.queries), ("dy", c.valueDim, c.queries)]
            .map { name, width, rows in try graph.input(name, [c.batchHeads, rows, width]) }
        let grads = try [AttentionOperand.query, .key, .value].map {
            try graph.apply(.attentionGrad(causal: c.causal, scale: scale, operand: $0), inputs)
        }
        let forward = try attention(q: inputs[0], k: inputs[1], v: inputs[2], causal: c.causal, scale: scale)
        feeds["y"] = try ReferenceBackend().compile(graph, outputs: [forward], options: CompileOptions()).run(feeds)[0]
        for variant in [1, 2] {
            var options = CompileOptions(openCL: OpenCLOptions(forcing: AttentionBackwardFamily.Variant.number(variant)))
            options.guardElements = 16
            let plan = try Self.backend.compilePlan(graph, outputs: grads, options: options)
            #expect(plan.steps.contains { $0.label.hasSuffix("statistics") }, "variant \(variant) \(c): no statistics pass")
            for (name, (e, a)) in zip(["dq", "dk", "dv"], zip(expected, try plan.run(feeds))) {
                let error = nmse(e.floats, a.floats)
                #expect(error < 1e-10, "variant \(variant) \(c) \(name): nmse \(error)")
            }
        }
    }

    /// With the forward in the plan, the CPU variant recomputes p from the statistics the fused
    /// forward stored: no statistics pass; the GPU variant keeps its own (it takes Δ from it too).
    @Test func forwardStatisticsReplaceThePrePass() throws {
        let c = AttentionBackwardCase(batchHeads: 2, queries: 8, keys: 8, headDim: 16, valueDim: 16, causal: true)
        let (graph, grads) = try Self.graph(c, scale: 0.25)
        func labels(backward: Int) throws -> [String] {
            let options = CompileOptions(openCL: OpenCLOptions(forcing: AttentionBackwardFamily.Variant.number(backward),
                                                               AttentionFamily.Variant.cpuRegisterBlocked))
            return try Self.backend.compilePlan(graph, outputs: grads, options: options).steps.map(\.label)
        }
        let cpu = try labels(backward: 1)
        #expect(!cpu.contains { $0.hasSuffix("statistics") }, "\(cpu)")
        let gpu = try labels(backward: 2)
        #expect(gpu.contains { $0.hasSuffix("statistics") }, "\(gpu)")
    }

    /// Only the requested gradients are outputs; the others go to scratch (or are not computed).
    @Test func subsetOfGradients() throws {
        let c = AttentionBackwardCase(batchHeads: 2, queries: 7, keys: 9, headDim: 13, valueDim: 5, causal: true)
        let (graph, grads) = try Self.graph(c, scale: 0.4)
        let feeds = Self.feeds(c, seed: 5)
        let expected = try ReferenceBackend().compile(graph, outputs: grads, options: CompileOptions()).run(feeds)
        for variant in [0, 1, 2] {
            for pick in [[0], [1], [2], [0, 2]] {
                var options = CompileOptions(openCL: OpenCLOptions(forcing: AttentionBackwardFamily.Variant.number(variant)))
                options.guardElements = 16
                let actual = try Self.backend.compile(graph, outputs: pick.map { grads[$0] }, options: options).run(feeds)
                for (slot, index) in pick.enumerated() {
                    let error = nmse(expected[index].floats, actual[slot].floats)
                    #expect(error < 1e-10, "variant \(variant), outputs \(pick), gradient \(index): nmse \(error)")
                }
            }
        }
    }

    /// The plan lowers the fused backward by default and the decomposition when attention is unfused.
    @Test func loweringFollowsTheOptions() throws {
        let c = AttentionBackwardCase(batchHeads: 2, queries: 8, keys: 8, headDim: 16, valueDim: 16, causal: true)
        let (graph, grads) = try Self.graph(c, scale: 0.25)
        func labels(_ options: CompileOptions) throws -> String {
            try Self.backend.compilePlan(graph, outputs: grads, options: options).steps.map(\.variant).joined(separator: "; ")
        }
        let automatic = try labels(CompileOptions())
        #expect(automatic.contains("attention_backward.1") || automatic.contains("attention_backward.2"), "\(automatic)")
        #expect(!automatic.contains("attention_backward.0"))
        let unfused = try labels(CompileOptions(attention: .unfused))
        #expect(unfused.contains("attention_backward.0"), "\(unfused)")
        #expect(!unfused.contains("attention_backward.1") && !unfused.contains("attention_backward.2"))
    }

    @Test func rejectsBadShapes() throws {
        let family = AttentionBackwardFamily(environment: TestDevice.environment)
        let context = TestDevice.context
        let small = try CLBuffer<Float>(context: context, count: 4)
        let shape = AttentionShape(batchHeads: 1, queries: 4, keys: 4, headDim: 4, valueDim: 4, causal: false, scale: 0.5)
        #expect(throws: CLError.self) {
            try family.encode(q: small, k: small, v: small, y: small, dy: small, dq: nil, dk: nil, dv: nil, shape: shape)
        }
        let big = try CLBuffer<Float>(context: context, count: 16)
        // The decomposed form is the plan's, not the family's encoder.
        #expect(throws: KernelVariantError.self) {
            try family.encode(q: big, k: big, v: big, y: big, dy: big, dq: nil, dk: nil, dv: nil, shape: shape, variant: .decomposed)
        }
        #expect(throws: KernelVariantError.self) { try AttentionBackwardFamily.Variant.numbered(3) }
        var noKeys = shape
        noKeys.keys = 0
        #expect(throws: CLError.self) {
            try family.encode(q: big, k: big, v: big, y: big, dy: big, dq: nil, dk: nil, dv: nil, shape: noKeys)
        }
    }
}

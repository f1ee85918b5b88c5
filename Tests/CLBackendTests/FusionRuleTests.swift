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

/// The layout and backward groupings: what they absorb, how many launches remain, and that the
/// values match the reference.
@Suite struct LayoutAndGradientGroupTests {
    let backend = OpenCLBackend(context: TestDevice.context)

    func expectMatchesReference(_ graph: Graph, _ outputs: [Tensor], _ feeds: [String: TensorData],
                                sourceLocation: SourceLocation = #_sourceLocation) throws -> CLPlan {
        let plan = try backend.compilePlan(graph, outputs: outputs)
        let expected = try ReferenceBackend().compile(graph, outputs: outputs, options: CompileOptions()).run(feeds)
        for (index, (device, reference)) in zip(try plan.run(feeds), expected).enumerated() {
            #expect(nmse(reference.floats, device.floats) < 1e-12, "output \(index)", sourceLocation: sourceLocation)
        }
        return plan
    }

    @Test("a concatenation copies each part through its chain of slices, permutes and reshapes from the chain's start")
    func concatenationReadsThroughLayoutChains() throws {
        let graph = Graph()
        let heads = try graph.input("heads", [2, 3, 5, 4])        // [B, H, T, hs]
        let other = try graph.input("other", [10, 7])
        let square = try graph.input("square", [3, 5, 4])
        var random = TestRandom(seed: 5)
        let feeds = ["heads": TensorData(shape: [2, 3, 5, 4], floats: random.floats(120)),
                     "other": TensorData(shape: [10, 7], floats: random.floats(70)),
                     "square": TensorData(shape: [3, 5, 4], floats: random.floats(60))]
        // Merged heads [B·T, H·hs] beside another part: the permute and reshape are absorbed.
        let merged = try heads.permute([0, 2, 1, 3]).reshape([10, 12])
        let plan = try expectMatchesReference(graph, [try concat([merged, other], axis: 1)], feeds)
        #expect(plan.steps.count == 2, "\(plan.steps.map(\.label))")
        #expect(!plan.steps.contains { $0.label.hasPrefix("permute") })
        // Permutes directly, and a slice of a permute (each read once).
        let a = try square.permute([1, 0, 2]), b = try square.permute([1, 0, 2]).slice(axis: 2, start: 1, end: 3)
        let direct = try expectMatchesReference(graph, [try concat([a, b], axis: 2)], feeds)
        #expect(direct.steps.count == 2, "\(direct.steps.map(\.label))")
        // A reshape merging axes that the permute made non-contiguous cannot be a view; a permute
        // read elsewhere stays its own copy: both still right.
        let unmergeable = try heads.permute([0, 2, 1, 3]).reshape([2, 5, 12]).permute([0, 2, 1])
        let shared = try square.permute([1, 0, 2]).reshape([5, 3, 4])
        _ = try expectMatchesReference(graph, [try concat([unmergeable.reshape([2, 12, 5]), other.reshape([2, 7, 5])], axis: 1)], feeds)
        _ = try expectMatchesReference(graph, [try concat([shared, shared], axis: 0), shared], feeds)
    }

    @Test("a head split (slice of a projection, reshape, permute) is one strided copy")
    func headSplitIsOneCopy() throws {
        let graph = Graph()
        let qkv = try graph.input("qkv", [6, 3 * 8])
        var random = TestRandom(seed: 6)
        let feeds = ["qkv": TensorData(shape: [6, 24], floats: random.floats(144))]
        let heads = try (0..<3).map { part in
            try qkv.slice(axis: 1, start: part * 8, end: (part + 1) * 8).reshape([2, 3, 2, 4]).permute([0, 2, 1, 3])
        }
        let plan = try expectMatchesReference(graph, heads, feeds)
        #expect(plan.steps.count == 3, "\(plan.steps.map(\.label))")
        #expect(plan.steps.allSatisfy { $0.label.hasPrefix("permute") })
        // A chain that ends in a slice, and a transposed slice whose merge is not a view.
        let rows = try qkv.permute([1, 0]).slice(axis: 0, start: 3, end: 20)
        let chained = try expectMatchesReference(graph, [rows], feeds)
        #expect(chained.steps.count == 1, "\(chained.steps.map(\.label))")
        _ = try expectMatchesReference(graph, [try qkv.slice(axis: 1, start: 2, end: 10).permute([1, 0]).reshape([48]).slice(axis: 0, start: 5, end: 40)], feeds)
    }

    @Test("one layer norm's three gradients are one group of two launches, and match the reference")
    func layerNormGradientsShareTwoLaunches() throws {
        let graph = Graph()
        let x = try graph.input("x", [33, 13]), gain = try graph.input("gain", [13]), dy = try graph.input("dy", [33, 13])
        var random = TestRandom(seed: 8)
        let feeds = ["x": TensorData(shape: [33, 13], floats: random.floats(429)),
                     "gain": TensorData(shape: [13], floats: random.floats(13)),
                     "dy": TensorData(shape: [33, 13], floats: random.floats(429))]
        let all = try LayerNormOperand.allCases.map { try graph.apply(.layerNormGrad(eps: 1e-5, operand: $0), [x, gain, dy]) }
        let plan = try expectMatchesReference(graph, all, feeds)
        #expect(plan.steps.count == 2, "\(plan.steps.map(\.label))")
        #expect(plan.steps.allSatisfy { $0.variant.hasPrefix("layernorm_backward") })
        // dx alone: the rows kernel only.
        let dxOnly = try expectMatchesReference(graph, [all[0]], feeds)
        #expect(dxOnly.steps.count == 1, "\(dxOnly.steps.map(\.label))")
        // dx joining a residual gradient: the rows kernel adds it; dx + dx stays an add of its own.
        let residual = try graph.input("residual", [33, 13])
        var withResidual = feeds
        withResidual["residual"] = TensorData(shape: [33, 13], floats: random.floats(429))
        let joined = try expectMatchesReference(graph, [try residual + all[0], all[1], all[2]], withResidual)
        #expect(joined.steps.count == 2, "\(joined.steps.map(\.label))")
        let doubled = try expectMatchesReference(graph, [try all[0] + all[0]], feeds)
        #expect(doubled.steps.count == 2, "\(doubled.steps.map(\.label))")
    }
}

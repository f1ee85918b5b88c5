import CLBackend
import Testing
import TensorGraph

/// Independent elementwise groups run as one launch over their concatenated index space.
/// Each test compares the horizontally fused plan with the same graph compiled with horizontal
/// fusion off (one launch per group) and with the reference backend.
@Suite struct HorizontalFusionTests {
    static var backend: OpenCLBackend { OpenCLBackend(context: TestDevice.context) }
    /// One launch per elementwise group (horizontal fusion off).
    static var unfused: CompileOptions {
        var options = OpenCLOptions()
        options.horizontalFusion = false
        return CompileOptions(openCL: options)
    }

    /// Four groups of awkward sizes (1, 7, 13, 257), each with a different expression, a
    /// broadcast leaf, a scalar constant and (one of them) an extra output: no group reads another.
    struct AwkwardGroups {
        let graph: Graph
        let outputs: [Tensor]
        let feeds: [String: TensorData]

        init() throws {
            let graph = Graph()
            var random = TestRandom(seed: 11)
            var feeds: [String: TensorData] = [:]
            func input(_ name: String, _ dims: [Int], lo: Float = -1) throws -> Tensor {
                feeds[name] = TensorData(shape: Shape(dims), floats: random.floats(dims.reduce(1, *), lo, 1))
                return try graph.input(name, Shape(dims))
            }
            let one = try input("one", [1])
            let seven = try input("seven", [7])
            let rows = try input("rows", [13, 1])
            let cols = try input("cols", [1, 13])
            let big = try input("big", [257], lo: 0.1)
            let row = try input("row", [257])
            let scale = try input("scale", [])
            let a = try (one * 3 + 1).exp()
            let b = try (seven * scale).tanh() - seven
            let c = try (rows * cols + 0.5).relu()            // [13, 13] from two broadcasts
            let inner = try big.sqrt() * row                   // an output inside the chain: extra output
            let d = try inner / (big + 1e-3)
            self.graph = graph
            outputs = [a, b, c, inner, d]
            self.feeds = feeds
        }
    }

    @Test func independentGroupsOfAwkwardSizesRunAsOneLaunch() throws {
        let setup = try AwkwardGroups()
        let fused = try Self.backend.compilePlan(setup.graph, outputs: setup.outputs)
        let separate = try Self.backend.compilePlan(setup.graph, outputs: setup.outputs, options: Self.unfused)
        #expect(fused.steps.count == 1, "\(fused.steps.map(\.label))")
        #expect(separate.steps.count == 4, "\(separate.steps.map(\.label))")
        let reference = try ReferenceBackend().compile(setup.graph, outputs: setup.outputs, options: CompileOptions()).run(setup.feeds)
        let fusedResults = try fused.run(setup.feeds), separateResults = try separate.run(setup.feeds)
        for (index, (r, (f, s))) in zip(reference, zip(fusedResults, separateResults)).enumerated() {
            #expect(f.shape == r.shape)
            #expect(nmse(s.floats, f.floats) < 1e-12, "output \(index): fused vs one launch per group")
            #expect(nmse(r.floats, f.floats) < 1e-10, "output \(index): fused vs reference")
        }
    }

    @Test func everyElementwiseVariantComputesTheSameSegments() throws {
        let setup = try AwkwardGroups()
        let reference = try ReferenceBackend().compile(setup.graph, outputs: setup.outputs, options: CompileOptions()).run(setup.feeds)
        for variant in [1, 2] {
            let plan = try Self.backend.compilePlan(setup.graph, outputs: setup.outputs,
                                                    options: CompileOptions(openCL: OpenCLOptions(forcing: ElementwiseVariant.number(variant))))
            #expect(plan.steps.count == 1)
            for (r, d) in zip(reference, try plan.run(setup.feeds)) { #expect(nmse(r.floats, d.floats) < 1e-10, "variant \(variant)") }
        }
    }

    /// Large segments (several work-items each, float16 chunks and scalar tails) next to tiny ones.
    @Test func largeAndTinySegmentsShareALaunch() throws {
        let graph = Graph()
        let sizes = [5000, 1, 4099, 16, 33]
        var random = TestRandom(seed: 5)
        var feeds: [String: TensorData] = [:]
        var outputs: [Tensor] = []
        for (index, size) in sizes.enumerated() {
            let x = try graph.input("x\(index)", [size])
            feeds["x\(index)"] = TensorData(shape: [size], floats: random.floats(size))
            outputs.append(try x * Float(index + 2) - x * x)  // same structure: one segment kind, five sizes
        }
        let plan = try Self.backend.compilePlan(graph, outputs: outputs)
        #expect(plan.steps.count == 1, "\(plan.steps.map(\.label))")
        let reference = try ReferenceBackend().compile(graph, outputs: outputs, options: CompileOptions()).run(feeds)
        for (index, (r, d)) in zip(reference, try plan.run(feeds)).enumerated() {
            #expect(nmse(r.floats, d.floats) < 1e-12, "segment \(index) of \(sizes[index]) elements")
        }
    }

    /// A group that reads another group's result waits for it: two launches, not one.
    @Test func dependentGroupsAreNotMerged() throws {
        let graph = Graph()
        let x = try graph.input("x", [13])
        let shared = try x.exp()          // two readers: its own group
        let left = try shared * 2
        let right = try shared + x        // left and right are independent of each other
        let plan = try Self.backend.compilePlan(graph, outputs: [left, right])
        #expect(plan.steps.count == 2, "\(plan.steps.map(\.label))")
        var random = TestRandom(seed: 2)
        let feeds = ["x": TensorData(shape: [13], floats: random.floats(13))]
        let reference = try ReferenceBackend().compile(graph, outputs: [left, right], options: CompileOptions()).run(feeds)
        for (r, d) in zip(reference, try plan.run(feeds)) { #expect(nmse(r.floats, d.floats) < 1e-12) }
    }

    /// Intermediates written by one fused launch and read later each keep their own buffer.
    @Test func outputsOfOneLaunchNeverShareABuffer() throws {
        let graph = Graph()
        let x = try graph.input("x", [257])
        let y = try graph.input("y", [257])
        let a = try x.exp(), b = try y.tanh(), c = try x * y
        let sums = [try a.sum(axis: 0), try b.sum(axis: 0), try c.sum(axis: 0)]
        let plan = try Self.backend.compilePlan(graph, outputs: sums)
        #expect(plan.steps.count == 4, "\(plan.steps.map(\.label))")   // one fused launch, three reductions
        var random = TestRandom(seed: 9)
        let feeds = ["x": TensorData(shape: [257], floats: random.floats(257)), "y": TensorData(shape: [257], floats: random.floats(257))]
        let reference = try ReferenceBackend().compile(graph, outputs: sums, options: CompileOptions()).run(feeds)
        for (r, d) in zip(reference, try plan.run(feeds)) { #expect(nmse(r.floats, d.floats) < 1e-10) }
    }

    /// Over the argument limit the groups split into several launches, in order, with the same results.
    @Test func groupsOverTheArgumentLimitSplitIntoSeveralLaunches() throws {
        let setup = try AwkwardGroups()
        // The groups take 5, 4, 7 and 6 arguments of 8 bytes (+ 8 shared): 100 bytes fit the first
        // two together, then the others one by one.
        var openCL = OpenCLOptions()
        openCL.launchParameterBytes = 100
        let options = CompileOptions(openCL: openCL)
        let plan = try Self.backend.compilePlan(setup.graph, outputs: setup.outputs, options: options)
        #expect(plan.steps.count == 3, "\(plan.steps.map(\.label))")
        let reference = try ReferenceBackend().compile(setup.graph, outputs: setup.outputs, options: CompileOptions()).run(setup.feeds)
        for (r, d) in zip(reference, try plan.run(setup.feeds)) { #expect(nmse(r.floats, d.floats) < 1e-10) }
    }

    /// A variable updated in place by one part of a fused launch must not be read by another part
    /// (it would see new values): that assignment falls back to an end-of-run copy.
    @Test func aVariableReadByAnotherPartIsNotUpdatedInPlace() throws {
        let graph = Graph()
        let p = try graph.variable("p", [257])
        let g = try graph.input("g", [257])
        let shifted = try p * 3 - 1       // a group reading the old p…
        let newP = try p * 0.5 + g        // …and p's update after it (in place when launched after it)
        let backend = Self.backend
        let plan = try backend.compilePlan(graph, outputs: [shifted], assignments: [try Assignment(p, newP)])
        #expect(plan.steps.count == 1, "\(plan.steps.map(\.label))")
        #expect(plan.endOfRunCopies == 1)
        let separate = try backend.compilePlan(graph, outputs: [shifted], assignments: [try Assignment(p, newP)], options: Self.unfused)
        #expect(separate.endOfRunCopies == 0)  // alone, the update runs after every reader of p: in place
        let reference = try ReferenceBackend().compile(graph, outputs: [shifted], assignments: [try Assignment(p, newP)],
                                                        options: CompileOptions())
        var random = TestRandom(seed: 4)
        let start = TensorData(shape: [257], floats: random.floats(257))
        for candidate in [plan as any Plan, reference] { try candidate.setVariable("p", start) }
        for step in 0..<3 {
            let feeds = ["g": TensorData(shape: [257], floats: random.floats(257))]
            let expected = try reference.run(feeds), actual = try plan.run(feeds)
            #expect(nmse(expected[0].floats, actual[0].floats) < 1e-12, "step \(step)")
            #expect(nmse(try reference.variable("p").floats, try plan.variable("p").floats) < 1e-12, "step \(step)")
        }
    }

    /// The optimizer of several parameters (the names-MLP shapes) is one launch; training matches.
    @Test func adamWOverSeveralParametersIsOneLaunch() throws {
        let graph = Graph()
        let shapes: [Shape] = [[27, 48], [7], [13, 5], [257], [1]]
        var parameters: [Tensor] = [], gradients: [Tensor] = []
        for (index, shape) in shapes.enumerated() {
            parameters.append(try graph.variable("p\(index)", shape))
            gradients.append(try graph.input("g\(index)", shape))
        }
        let update = try adamW(parameters: parameters, gradients: gradients, configuration: AdamWConfiguration())
        let plan = try Self.backend.compilePlan(graph, outputs: [], assignments: update.assignments)
        #expect(plan.steps.count == 1, "\(plan.steps.map(\.label))")
        #expect(plan.endOfRunCopies == 0)
        let reference = try ReferenceBackend().compile(graph, outputs: [], assignments: update.assignments, options: CompileOptions())
        var random = TestRandom(seed: 8)
        for candidate in [plan as any Plan, reference] {
            var values = TestRandom(seed: 1)
            for (index, shape) in shapes.enumerated() {
                try candidate.setVariable("p\(index)", TensorData(shape: shape, floats: values.floats(shape.count)))
                try candidate.setVariable("optimizer/p\(index).m", TensorData(shape: shape, floats: [Float](repeating: 0, count: shape.count)))
                try candidate.setVariable("optimizer/p\(index).v", TensorData(shape: shape, floats: [Float](repeating: 0, count: shape.count)))
            }
        }
        for step in 1...3 {
            var feeds = update.feeds(step: step, learningRate: 1e-2)
            for (index, shape) in shapes.enumerated() {
                feeds["g\(index)"] = TensorData(shape: shape, floats: random.floats(shape.count))
            }
            _ = try plan.run(feeds)
            _ = try reference.run(feeds)
        }
        for (index, _) in shapes.enumerated() {
            for name in ["p\(index)", "optimizer/p\(index).m", "optimizer/p\(index).v"] {
                #expect(nmse(try reference.variable(name).floats, try plan.variable(name).floats) < 1e-10, "\(name)")
            }
        }
    }

    /// Gradient clipping squares every gradient before any sum reads one, so the squares share
    /// one launch (a launch per gradient before).
    @Test func clippingSquaresEveryGradientInOneLaunch() throws {
        let graph = Graph()
        let shapes: [Shape] = [[1], [7], [13, 5], [257], [3, 3, 3]]
        let gradients = try shapes.enumerated().map { try graph.input("g\($0.offset)", $0.element) }
        let clipped = try clipByGlobalNorm(gradients, maxNorm: 0.5)
        var random = TestRandom(seed: 9)
        let feeds = Dictionary(uniqueKeysWithValues: shapes.enumerated().map {
            ("g\($0.offset)", TensorData(shape: $0.element, floats: random.floats($0.element.count)))
        })
        let plan = try Self.backend.compilePlan(graph, outputs: clipped)
        // One launch squares the five, five sums, one scale factor, one launch scales the five.
        let labels = plan.steps.map(\.label)
        #expect(labels.count == 8 && labels[0].hasPrefix("fused 5 groups") && labels.last!.hasPrefix("fused 5 groups"), "\(labels)")
        let expected = try ReferenceBackend().compile(graph, outputs: clipped, options: CompileOptions()).run(feeds)
        for (e, a) in zip(expected, try plan.run(feeds)) { #expect(nmse(e.floats, a.floats) < 1e-10) }
    }
}

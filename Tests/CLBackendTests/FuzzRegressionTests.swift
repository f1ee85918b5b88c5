import CLBackend
import GraphConformance
import TensorGraph
import Testing

/// Minimal reproductions of what the random-graph fuzzer found, each checked against the reference.
@Suite struct FuzzRegressionTests {
    static let backend = OpenCLBackend(context: TestDevice.context)

    /// Checks the graph `body` builds (inputs from `fills`) on the device against the reference.
    func expectMatchesReference(_ fills: [(String, Shape, InputFill)], options: CompileOptions = CompileOptions(),
                                _ body: ([Tensor]) throws -> [Tensor]) throws {
        let graph = Graph()
        let inputs = try fills.map { try graph.input($0.0, $0.1, dtype: $0.2.dtype) }
        let outputs = try body(inputs)
        let fuzz = FuzzGraph(seed: 7, graph: graph, outputs: outputs,
                             fills: Dictionary(uniqueKeysWithValues: fills.map { ($0.0, $0.2) }))
        let outcome = FuzzRunner(backend: Self.backend, options: options).check([fuzz])[0]
        #expect(outcome.passed, "\(outcome.summary)\n\(fuzz)")
    }

    /// Causal attention with more queries than keys: the first Tq − Tk queries see no key and
    /// average v uniformly (the op's definition); the device must accept the shape.
    @Test(arguments: [AttentionLowering.automatic, .unfused])
    func causalAttentionWithMoreQueriesThanKeys(lowering: AttentionLowering) throws {
        for (tq, tk, d, dv) in [(2, 1, 1, 1), (13, 5, 8, 16), (33, 17, 16, 8)] {
            try expectMatchesReference([("q", [2, tq, d], .uniform(-2, 2)), ("k", [2, tk, d], .uniform(-1, 1)),
                                        ("v", [2, tk, dv], .uniform(-1, 1))],
                                       options: CompileOptions(attention: lowering)) { t in
                [try attention(q: t[0], k: t[1], v: t[2], causal: true)]
            }
        }
    }
}

extension FuzzRegressionTests {
    /// A variable read back as an output (itself or through a reshape) while an assignment updates
    /// it: the output is the value from before the run, as every read during a run is (the end-of-run
    /// copy must be enqueued after the output reads, or the output would show the new value).
    @Test func aVariableOutputIsReadBeforeItsUpdate() throws {
        let graph = Graph()
        let w = try graph.variable("w", [3, 1])
        let x = try graph.input("x", [3, 1])
        let fuzz = FuzzGraph(seed: 3, graph: graph, outputs: [w, try w.reshape([3]), try x.tanh()],
                             assignments: [try Assignment(w, try x + 0.1)],
                             fills: ["w": .uniform(-2, 2), "x": .uniform(-2, 2)])
        for options in [CompileOptions(), CompileOptions(guardElements: 16)] {
            let outcome = FuzzRunner(backend: Self.backend, options: options).check([fuzz])[0]
            #expect(outcome.passed, "\(outcome.summary)\n\(fuzz)")
            #expect(outcome.outputsChecked == 4)
        }
    }
}

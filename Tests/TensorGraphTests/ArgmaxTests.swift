import Foundation
import Testing
import TensorGraph

/// `argmax` on the reference backend: the rule the OpenCL kernel and the greedy sampler share.
@Suite struct ArgmaxTests {
    func argmax(_ values: [Float], _ shape: Shape) throws -> TensorData {
        let graph = Graph()
        let x = try graph.input("x", shape)
        let plan = try ReferenceBackend().compile(graph, outputs: [try x.argmax()], options: CompileOptions())
        return try plan.run(["x": TensorData(shape: shape, floats: values)])[0]
    }

    @Test func firstOfEqualMaximaAndNaNCountsAsLargest() throws {
        let nan = Float.nan, inf = Float.infinity
        let rows: [[Float]] = [
            [1, 3, 3, 2],            // ties: the first
            [-inf, -inf, -inf, -inf], // all −∞: index 0
            [1, nan, 5, nan],        // the first NaN
            [nan, 9, 9, 9],
            [-2, inf, 7, inf],
            [-1, -0.5, -3, -0.5],
        ]
        let out = try argmax(rows.flatMap { $0 }, [6, 4])
        #expect(out.dtype == .i32 && out.shape == [6])
        #expect(out.ints == [1, 0, 1, 0, 1, 1])
        #expect(rows.map { ReferenceOps.argmaxIndex($0) } == [1, 0, 1, 0, 1, 1])
        // Slices keep their own indices (from 0).
        #expect(ReferenceOps.argmaxIndex(rows[2][1...]) == 0)
    }

    @Test func shapesDropTheLastAxis() throws {
        #expect(try argmax([4, 2, 8], [3]).shape == [])
        #expect(try argmax([4, 2, 8], [3]).ints == [2])
        #expect(try argmax([Float](repeating: 0, count: 12), [2, 3, 2]).shape == [2, 3])
        let graph = Graph()
        #expect(throws: GraphError.self) { try graph.input("i", [3], dtype: .i32).argmax() }
        #expect(throws: GraphError.self) { try graph.input("s", []).argmax() }
    }
}

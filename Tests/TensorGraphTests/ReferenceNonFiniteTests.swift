import Foundation
import Testing
import TensorGraph

/// The reference backend's non-finite rules (the ops' doc comments): IEEE arithmetic through each
/// op's formula, NaN never dropped, the math's limits at ±Inf.
@Suite struct ReferenceNonFiniteTests {
    static let nan = Float.nan, inf = Float.infinity

    /// Runs `body` on one input `x` of `values` on the reference backend.
    static func run(_ values: [Float], shape: Shape? = nil, _ body: (Tensor) throws -> Tensor) throws -> [Float] {
        let s = shape ?? [values.count]
        let graph = Graph()
        let x = try graph.input("x", s)
        let plan = try ReferenceBackend().compile(graph, outputs: [try body(x)], options: CompileOptions())
        return try plan.run(["x": TensorData(shape: s, floats: values)])[0].floats
    }

    /// Equal as IEEE values, NaN equal to NaN.
    static func same(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 }
    }

    @Test func unaryOpsKeepNaNAndTakeTheLimitsAtInfinity() throws {
        let x: [Float] = [Self.nan, Self.inf, -Self.inf, 0]
        #expect(Self.same(try Self.run(x) { try $0.relu() }, [Self.nan, Self.inf, 0, 0]))
        #expect(Self.same(try Self.run(x) { try $0.exp() }, [Self.nan, Self.inf, 0, 1]))
        #expect(Self.same(try Self.run(x) { try $0.log() }, [Self.nan, Self.inf, Self.nan, -Self.inf]))
        #expect(Self.same(try Self.run(x) { try $0.tanh() }, [Self.nan, 1, -1, 0]))
        #expect(Self.same(try Self.run(x) { try $0.sigmoid() }, [Self.nan, 1, 0, 0.5]))
        #expect(Self.same(try Self.run(x) { try $0.gelu() }, [Self.nan, Self.inf, 0, 0]))
        #expect(Self.same(try Self.run(x) { try $0.pow(0.5) }, [Self.nan, Self.inf, Self.nan, 0]))
    }

    @Test func maximumAndMinimumPropagateNaN() throws {
        let x: [Float] = [Self.nan, 1, -Self.inf]
        #expect(Self.same(try Self.run(x) { try $0.maximum(0) }, [Self.nan, 1, 0]))
        #expect(Self.same(try Self.run(x) { try $0.minimum(0) }, [Self.nan, 0, -Self.inf]))
        // NaN on the right-hand side too (Swift.max / Swift.min keep the NaN only on one side).
        let graph = Graph()
        let a = try graph.input("a", [2]), b = try graph.input("b", [2])
        let plan = try ReferenceBackend().compile(graph, outputs: [try a.maximum(b), try a.minimum(b)], options: CompileOptions())
        let out = try plan.run(["a": TensorData(shape: [2], floats: [1, Self.nan]), "b": TensorData(shape: [2], floats: [Self.nan, 1])])
        #expect(out[0].floats.allSatisfy(\.isNaN) && out[1].floats.allSatisfy(\.isNaN))
    }

    @Test func maxReductionOfARunWithNaNIsNaN() throws {
        for row: [Float] in [[Self.nan, 1, 2], [1, Self.nan, 2], [1, 2, Self.nan]] {
            #expect(try Self.run(row) { try $0.max(axis: 0) }[0].isNaN, "max of \(row)")
        }
        #expect(try Self.run([-Self.inf, -Self.inf]) { try $0.max(axis: 0) } == [-Self.inf])
        #expect(try Self.run([1, Self.inf]) { try $0.max(axis: 0) } == [Self.inf])
    }

    @Test func softmaxRowsWithNaNOrPlusInfinityAreNaN() throws {
        let rows: [Float] = [1, Self.inf, 2,   1, Self.nan, 2,   1, -Self.inf, 2,   -Self.inf, -Self.inf, -Self.inf]
        let soft = try Self.run(rows, shape: [4, 3]) { try $0.softmax(axis: -1) }
        let logSoft = try Self.run(rows, shape: [4, 3]) { try $0.logSoftmax(axis: -1) }
        #expect(soft[0..<6].allSatisfy(\.isNaN) && logSoft[0..<6].allSatisfy(\.isNaN))
        #expect(soft[7] == 0 && logSoft[7] == -Self.inf && soft[6].isFinite && soft[8].isFinite)
        #expect(soft[9...].allSatisfy(\.isNaN) && logSoft[9...].allSatisfy(\.isNaN))
    }

    @Test func crossEntropyWithInfiniteLogits() throws {
        func loss(_ logits: [Float], target: Int32) throws -> Float {
            let graph = Graph()
            let x = try graph.input("x", [1, logits.count]), t = try graph.input("t", [1], dtype: .i32)
            let plan = try ReferenceBackend().compile(graph, outputs: [try crossEntropy(logits: x, targets: t)], options: CompileOptions())
            return try plan.run(["x": TensorData(shape: [1, logits.count], floats: logits),
                                 "t": TensorData(shape: [1], ints: [target])])[0].floats[0]
        }
        #expect(try loss([0, -Self.inf, 0], target: 1) == Self.inf)
        #expect(try loss([0, -Self.inf, 0], target: 0) == Float(log(2.0)))
        #expect(try loss([0, Self.inf, 0], target: 0).isNaN)
        #expect(try loss([0, Self.nan, 0], target: 2).isNaN)
    }
}

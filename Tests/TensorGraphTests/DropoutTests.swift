import Testing
import TensorGraph

@Suite struct DropoutTests {
    static func mask(keep: Float, seed: Int32, salt: UInt32 = 0, count: Int = 20_000) throws -> [Float] {
        let graph = Graph()
        let s = try graph.input("seed", [1], dtype: .i32)
        let m = try graph.apply(.dropoutMask(shape: [count], keep: keep, salt: salt), [s])
        return try ReferenceBackend().compile(graph, outputs: [m], options: CompileOptions())
            .run(["seed": TensorData(shape: [1], ints: [seed])])[0].floats
    }

    @Test(arguments: [Float(0.5), 0.8, 0.95])
    func masksKeepTheirFractionAndPreserveTheMean(keep: Float) throws {
        let m = try Self.mask(keep: keep, seed: 11)
        let kept = Double(m.filter { $0 != 0 }.count) / Double(m.count)
        #expect(abs(kept - Double(keep)) < 0.015, "kept \(kept)")
        #expect(m.allSatisfy { $0 == 0 || $0 == 1 / keep })
        #expect(abs(m.reduce(0, +) / Float(m.count) - 1) < 0.03)
    }

    @Test func seedsAndSaltsGiveDifferentMasksAndTheSameSeedTheSameMask() throws {
        let a = try Self.mask(keep: 0.5, seed: 1), b = try Self.mask(keep: 0.5, seed: 2), c = try Self.mask(keep: 0.5, seed: 1, salt: 1)
        #expect(a == (try Self.mask(keep: 0.5, seed: 1)))
        let agreeSeed = zip(a, b).filter { $0 == $1 }.count, agreeSalt = zip(a, c).filter { $0 == $1 }.count
        #expect(abs(Double(agreeSeed) / Double(a.count) - 0.5) < 0.02)
        #expect(abs(Double(agreeSalt) / Double(a.count) - 0.5) < 0.02)
    }

    @Test func dropoutGradientIsTheMaskAndBadArgumentsAreErrors() throws {
        let graph = Graph()
        let x = try graph.input("x", [64]), seed = try graph.input("seed", [1], dtype: .i32)
        let y = try dropout(x, rate: 0.25, seed: seed, salt: 3)
        let grads = try gradients(of: try y.sum(axis: 0), wrt: [x])
        let plan = try ReferenceBackend().compile(graph, outputs: [y, grads[0]], options: CompileOptions())
        let out = try plan.run(["x": TensorData(shape: [64], floats: [Float](repeating: 2, count: 64)), "seed": TensorData(shape: [1], ints: [5])])
        #expect(out[0].floats == out[1].floats.map { $0 * 2 })
        #expect(throws: GraphError.self) { try dropout(x, rate: 1, seed: seed, salt: 0) }
        #expect(throws: GraphError.self) { try graph.apply(.dropoutMask(shape: [4], keep: 0.5, salt: 0), [x.slice(axis: 0, start: 0, end: 1)]) }
        #expect(try dropout(x, rate: 0, seed: seed, salt: 0).id == x.id)
    }
}

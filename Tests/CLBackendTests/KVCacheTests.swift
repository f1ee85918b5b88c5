import CLBackend
import Foundation
import TensorGraph
import Testing

/// The KV-cache ops (`cacheWrite`, `cachedAttention`) on the OpenCL backend against the reference:
/// the fused decode step (both appends and the attention in one launch, in place, reading q/k/v
/// where they lie in the projection), the standalone lowerings, bad positions and non-finite values.
@Suite struct KVCacheTests {
    static let opencl = OpenCLBackend(context: TestDevice.context)

    /// A decode step over caches `[b, h, l, d]`: q, k, v are column slices of one `[b, 3hd]` input
    /// (`slices`), or separate `[b, h, 1, d]` inputs.
    static func build(b: Int, h: Int, l: Int, d: Int, slices: Bool) throws -> (Graph, Tensor, [Assignment]) {
        let graph = Graph()
        let positions = try graph.input("positions", [b], dtype: .i32)
        let q: Tensor, k: Tensor, v: Tensor
        if slices {
            let qkv = try graph.input("qkv", [b, 3 * h * d])
            func part(_ i: Int) throws -> Tensor { try qkv.slice(axis: 1, start: i * h * d, end: (i + 1) * h * d).reshape([b, h, 1, d]) }
            (q, k, v) = (try part(0), try part(1), try part(2))
        } else {
            (q, k, v) = (try graph.input("q", [b, h, 1, d]), try graph.input("k", [b, h, 1, d]), try graph.input("v", [b, h, 1, d]))
        }
        let cacheK = try graph.variable("keys", [b, h, l, d]), cacheV = try graph.variable("values", [b, h, l, d])
        let keys = try cacheWrite(cacheK, rows: k, positions: positions), values = try cacheWrite(cacheV, rows: v, positions: positions)
        let y = try cachedAttention(q: q, keys: keys, values: values, positions: positions)
        return (graph, y, [try Assignment(cacheK, keys), try Assignment(cacheV, values)])
    }

    static func feeds(b: Int, h: Int, d: Int, slices: Bool, positions: [Int32], random: inout TestRandom) -> [String: TensorData] {
        var feeds: [String: TensorData] = ["positions": TensorData(shape: [b], ints: positions)]
        if slices {
            feeds["qkv"] = TensorData(shape: [b, 3 * h * d], floats: random.floats(3 * b * h * d))
        } else {
            for name in ["q", "k", "v"] { feeds[name] = TensorData(shape: [b, h, 1, d], floats: random.floats(b * h * d)) }
        }
        return feeds
    }

    /// Three decode steps at per-sequence positions (one sequence at the last row): the outputs and
    /// the caches agree with the reference; the step is one launch with no end-of-run copy.
    @Test(arguments: [(1, 1, 1, 8, true), (1, 4, 16, 16, true), (3, 3, 7, 13, true), (2, 1, 33, 8, false), (3, 2, 5, 13, false)])
    func decodeStepMatchesTheReference(shape: (Int, Int, Int, Int, Bool)) throws {
        let (b, h, l, d, slices) = shape
        let (graph, y, assignments) = try Self.build(b: b, h: h, l: l, d: d, slices: slices)
        let device = try Self.opencl.compile(graph, outputs: [y], assignments: assignments, options: CompileOptions())
        let reference = try ReferenceBackend().compile(graph, outputs: [y], assignments: assignments, options: CompileOptions())
        var random = TestRandom(seed: UInt64(b * 1000 + h * 100 + l + d))
        let cache = TensorData(shape: [b, h, l, d], floats: random.floats(b * h * l * d))
        for plan in [device, reference] {
            try plan.setVariable("keys", cache)
            try plan.setVariable("values", TensorData(shape: [b, h, l, d], floats: cache.floats.map { -$0 }))
        }
        let clPlan = try #require(device as? CLPlan)
        #expect(clPlan.endOfRunCopies == 0)
        if slices { #expect(clPlan.steps.count == 1, "\(clPlan.steps.map(\.label))") }
        for step in 0..<3 {
            let positions = (0..<b).map { Int32(min(l - 1, ($0 * 5 + step * 3) % l)) }
            let feeds = Self.feeds(b: b, h: h, d: d, slices: slices, positions: positions, random: &random)
            let expected = try reference.run(feeds)[0].floats, actual = try device.run(feeds)[0].floats
            #expect(nmse(expected, actual) < 1e-11, "step \(step)")
            #expect(try device.variable("keys").floats == (try reference.variable("keys").floats))
            #expect(try device.variable("values").floats == (try reference.variable("values").floats))
        }
    }

    /// Several queries per sequence over a cache that is only read, and a cache append whose old
    /// value is also an output (so it cannot be written in place): both as the reference.
    @Test func standaloneLoweringsMatchTheReference() throws {
        let (b, h, l, d, tq) = (2, 3, 9, 13, 3)
        let graph = Graph()
        let positions = try graph.input("positions", [b], dtype: .i32)
        let q = try graph.input("q", [b, h, tq, d]), rows = try graph.input("rows", [b, h, 1, d])
        let keys = try graph.variable("keys", [b, h, l, d]), values = try graph.variable("values", [b, h, l, d])
        let attended = try cachedAttention(q: q, keys: keys, values: values, positions: positions)
        let written = try cacheWrite(keys, rows: rows, positions: positions)
        let outputs = [attended, written, try keys * 1]
        let device = try Self.opencl.compile(graph, outputs: outputs, assignments: [try Assignment(keys, written)], options: CompileOptions())
        let reference = try ReferenceBackend().compile(graph, outputs: outputs, assignments: [try Assignment(keys, written)],
                                                       options: CompileOptions())
        var random = TestRandom(seed: 7)
        let k0 = TensorData(shape: [b, h, l, d], floats: random.floats(b * h * l * d))
        let v0 = TensorData(shape: [b, h, l, d], floats: random.floats(b * h * l * d))
        for plan in [device, reference] { try plan.setVariable("keys", k0); try plan.setVariable("values", v0) }
        let feeds: [String: TensorData] = ["positions": TensorData(shape: [b], ints: [2, 8]),
                                           "q": TensorData(shape: [b, h, tq, d], floats: random.floats(b * h * tq * d)),
                                           "rows": TensorData(shape: [b, h, 1, d], floats: random.floats(b * h * d))]
        let expected = try reference.run(feeds), actual = try device.run(feeds)
        #expect(nmse(expected[0].floats, actual[0].floats) < 1e-11)
        #expect(actual[1].floats == expected[1].floats)
        #expect(actual[2].floats == k0.floats, "the old cache read in the same run")
        #expect(try device.variable("keys").floats == (try reference.variable("keys").floats))
    }

    /// A position outside the cache is an error naming the op, on both backends.
    @Test(arguments: ["reference", "opencl"])
    func positionOutsideTheCacheIsAnError(backendName: String) throws {
        let backend: any Backend = backendName == "opencl" ? Self.opencl : ReferenceBackend()
        let (graph, y, assignments) = try Self.build(b: 2, h: 1, l: 4, d: 8, slices: false)
        let plan = try backend.compile(graph, outputs: [y], assignments: assignments, options: CompileOptions())
        for name in ["keys", "values"] { try plan.setVariable(name, TensorData(shape: [2, 1, 4, 8], floats: [Float](repeating: 0, count: 64))) }
        var random = TestRandom(seed: 3)
        for bad in [Int32(4), -1] {
            let feeds = Self.feeds(b: 2, h: 1, d: 8, slices: false, positions: [1, bad], random: &random)
            #expect {
                _ = try plan.run(feeds)
            } throws: { error in
                guard case PlanError.indexOutOfRange(let op, let index, let bound) = error else { return false }
                return op.hasPrefix("cache") && index == bad && bound == 4
            }
        }
    }

    /// A NaN in a visible key makes the query's row NaN; a NaN in a row past the position is never read.
    @Test func nonFiniteKeysFollowTheVisibleRows() throws {
        let (graph, y, assignments) = try Self.build(b: 2, h: 1, l: 6, d: 8, slices: false)
        let plan = try Self.opencl.compile(graph, outputs: [y], assignments: assignments, options: CompileOptions())
        var cache = [Float](repeating: 0.5, count: 2 * 6 * 8)
        cache[1 * 8 + 3] = .nan               // sequence 0, row 1: visible at position 3
        cache[6 * 8 + 5 * 8 + 2] = .nan       // sequence 1, row 5: past position 3
        try plan.setVariable("keys", TensorData(shape: [2, 1, 6, 8], floats: cache))
        try plan.setVariable("values", TensorData(shape: [2, 1, 6, 8], floats: cache.map { $0.isNaN ? 1 : $0 }))
        var random = TestRandom(seed: 5)
        let out = try plan.run(Self.feeds(b: 2, h: 1, d: 8, slices: false, positions: [3, 3], random: &random))[0].floats
        #expect(out[0..<8].allSatisfy { $0.isNaN })
        #expect(out[8..<16].allSatisfy { $0.isFinite })
    }
}

import CLBackend
import Dispatch
import Foundation
import GraphConformance
import TensorGraph
import Testing

/// Plans run from several threads at once (see the thread-safety notes on `Plan` and `CLPlan`).
@Suite struct PlanConcurrencyTests {
    static let backend = OpenCLBackend(context: TestDevice.context)

    /// Twelve rounds of `softmax(tanh(x·w + b)) · 2 − x.mean` on `[rows, 33]`: matmuls with a fused
    /// epilogue, softmaxes, reductions and fused elementwise kernels, about 50 launches a run (a
    /// long enqueue, so that two unserialised runs of one plan would interleave theirs).
    static func graphA(rows: Int) throws -> (Graph, [Tensor]) {
        let g = Graph()
        var x = try g.input("x", [rows, 33])
        let w = try g.input("w", [33, 33])
        let b = try g.input("b", [33])
        let first = x
        for _ in 0..<12 {
            let y = try (x.matmul(w) + b).tanh().softmax() * 2
            x = try y - x.mean(axis: 1, keepDims: true)
        }
        return (g, [x, try first.sum(axis: 0)])
    }

    /// Causal attention followed by layer norm and a GELU.
    static func graphB() throws -> (Graph, [Tensor]) {
        let g = Graph()
        let q = try g.input("q", [2, 13, 16]), k = try g.input("k", [2, 13, 16]), v = try g.input("v", [2, 13, 16])
        let gain = try g.input("gain", [16]), bias = try g.input("bias", [16])
        let a = try attention(q: q, k: k, v: v, causal: true)
        return (g, [try a.layerNorm(gain: gain, bias: bias).gelu()])
    }

    static func feeds(_ graph: Graph, seed: UInt64) -> [String: TensorData] {
        var rng = XorShiftRandom(seed: seed)
        var result: [String: TensorData] = [:]
        for node in graph.inputs {
            guard case .input(let name) = node.op else { continue }
            result[name] = TensorData(shape: node.shape, floats: rng.uniformArray(count: node.shape.count, lo: -1, hi: 1))
        }
        return result
    }

    /// Per feed set: the plan's outputs from a run on this thread alone, after checking them against the reference.
    static func serialResults(_ plan: any Plan, _ graph: Graph, _ outputs: [Tensor], _ feedSets: [[String: TensorData]]) throws -> [[TensorData]] {
        let reference = try ReferenceBackend().compile(graph, outputs: outputs, options: CompileOptions())
        return try feedSets.map { feeds in
            let result = try plan.run(feeds)
            for (e, a) in zip(try reference.run(feeds), result) {
                #expect(ConformanceRunner.nmse(reference: e.floats, actual: a.floats) <= ConformanceTable.exact)
            }
            return result
        }
    }

    /// Runs `work(thread, iteration)` on `threads` threads of their own (not a shared pool, which may
    /// run them one after another), `iterations` times each; returns how many calls failed or returned false.
    static func concurrently(threads: Int, iterations: Int, _ work: @escaping @Sendable (Int, Int) throws -> Bool) -> Int {
        let mismatches = Mismatches()
        let done = DispatchSemaphore(value: 0)
        for thread in 0..<threads {
            Thread {
                for iteration in 0..<iterations {
                    do { if try !work(thread, iteration) { mismatches.add() } } catch { mismatches.add() }
                }
                done.signal()
            }.start()
        }
        for _ in 0..<threads { done.wait() }
        return mismatches.count
    }

    @Test func twoPlansRunFromTwoThreadsAtOnce() throws {
        let (ga, oa) = try Self.graphA(rows: 29), (gb, ob) = try Self.graphB()
        let planA = try Self.backend.compile(ga, outputs: oa, options: CompileOptions())
        let planB = try Self.backend.compile(gb, outputs: ob, options: CompileOptions())
        let feedsA = (0..<3).map { Self.feeds(ga, seed: 10 + $0) }, feedsB = (0..<3).map { Self.feeds(gb, seed: 20 + $0) }
        let expectedA = try Self.serialResults(planA, ga, oa, feedsA), expectedB = try Self.serialResults(planB, gb, ob, feedsB)
        let shared = Shared(plans: [planA, planB], feeds: [feedsA, feedsB], expected: [expectedA, expectedB])
        let mismatches = Self.concurrently(threads: 2, iterations: 150) { thread, iteration in
            let k = iteration % 3
            return try shared.plans[thread].run(shared.feeds[thread][k]) == shared.expected[thread][k]
        }
        #expect(mismatches == 0)
    }

    /// One plan shared by two threads, each with its own inputs: runs are serialised, so every
    /// run returns exactly what it returns alone.
    @Test func onePlanRunsFromTwoThreadsAtOnce() throws {
        let (g, outputs) = try Self.graphA(rows: 64)
        let plan = try Self.backend.compile(g, outputs: outputs, options: CompileOptions())
        let feeds = (0..<4).map { Self.feeds(g, seed: 30 + $0) }
        let expected = try Self.serialResults(plan, g, outputs, feeds)
        let shared = Shared(plans: [plan], feeds: [feeds], expected: [expected])
        let mismatches = Self.concurrently(threads: 2, iterations: 150) { thread, iteration in
            let k = 2 * thread + iteration % 2  // the threads never use the same inputs
            return try shared.plans[0].run(shared.feeds[0][k]) == shared.expected[0][k]
        }
        #expect(mismatches == 0)
    }

    /// The reference backend's plans make the same promise.
    @Test func oneReferencePlanRunsFromTwoThreadsAtOnce() throws {
        let g = Graph()
        let w = try g.variable("w", [20_000])
        let x = try g.input("x", [20_000])
        let y = try x * w
        let plan = try ReferenceBackend().compile(g, outputs: [y], assignments: [Assignment(w, try w + 1)], options: CompileOptions())
        try plan.setVariable("w", TensorData(shape: [20_000], floats: [Float](repeating: 0, count: 20_000)))
        let shared = Shared(plans: [plan], feeds: [], expected: [])
        let ones = TensorData(shape: [20_000], floats: [Float](repeating: 1, count: 20_000))
        _ = Self.concurrently(threads: 2, iterations: 500) { _, _ in
            _ = try shared.plans[0].run(["x": ones])
            return true
        }
        // Every run's `w ← w + 1` lands: 1000 runs, w = 1000 everywhere (no update lost to a concurrent run).
        #expect(try plan.variable("w").floats == [Float](repeating: 1000, count: 20_000))
    }
}

/// What the threads share (plans are classes; the test only reads the arrays).
private final class Shared: @unchecked Sendable {
    let plans: [any Plan]
    let feeds: [[[String: TensorData]]]
    let expected: [[[TensorData]]]
    init(plans: [any Plan], feeds: [[[String: TensorData]]], expected: [[[TensorData]]]) {
        self.plans = plans; self.feeds = feeds; self.expected = expected
    }
}

private final class Mismatches: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.lock(); value += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}

import CLBackend
import Foundation
import TensorGraph
import Testing

/// `norm(x)·Wᵀ (+ bias) (→ act | + residual)` for a few rows: one launch (the norm as the
/// product's prologue), the reference's numbers, on awkward shapes (1, primes, K off the float16 width).
@Suite struct RowProductTests {
    static let opencl = OpenCLBackend(context: TestDevice.context)

    enum Epilogue: CaseIterable { case none, gelu, residual }

    @Test(arguments: [(1, 1, 1), (1, 37, 16), (3, 9, 13), (5, 33, 130), (16, 8, 64)], ["layerNorm", "rmsNorm"])
    func normalisedProductMatchesTheReference(shape: (Int, Int, Int), norm: String) throws {
        let (m, n, k) = shape
        for (index, epilogue) in Epilogue.allCases.enumerated() {
            let graph = Graph()
            let x = try graph.input("x", [m, k]), r = try graph.input("r", [m, n])
            let gain = try graph.variable("gain", [k]), shift = try graph.variable("shift", [k])
            let w = try graph.variable("w", [n, k]), b = try graph.variable("b", [n])
            let normed = norm == "layerNorm" ? try x.layerNorm(gain: gain, bias: shift) : try x.rmsNorm(gain: gain)
            var y = try linear(normed, weight: w, bias: index == 1 ? nil : b)
            switch epilogue {
            case .none: break
            case .gelu: y = try y.gelu()
            case .residual: y = try r + y
            }
            var random = TestRandom(seed: UInt64(m * 10_000 + n * 100 + k + index))
            let values: [String: TensorData] = [
                "gain": TensorData(shape: [k], floats: random.floats(k, 0.5, 1.5)), "shift": TensorData(shape: [k], floats: random.floats(k)),
                "w": TensorData(shape: [n, k], floats: random.floats(n * k)), "b": TensorData(shape: [n], floats: random.floats(n)),
            ]
            let feeds = ["x": TensorData(shape: [m, k], floats: random.floats(m * k, -2, 3)), "r": TensorData(shape: [m, n], floats: random.floats(m * n))]
            var results: [[Float]] = []
            for backend in [Self.opencl as any Backend, ReferenceBackend()] {
                let plan = try backend.compile(graph, outputs: [y], options: CompileOptions(guardElements: 17))
                for (name, value) in values where (norm == "layerNorm" || name != "shift") && (index != 1 || name != "b") {
                    try plan.setVariable(name, value)
                }
                results.append(try plan.run(feeds)[0].floats)
                if let clPlan = plan as? CLPlan {
                    #expect(clPlan.steps.count == 1, "\(epilogue) \(shape): \(clPlan.steps.map(\.label))")
                }
            }
            #expect(nmse(results[1], results[0]) < 1e-11, "\(norm) \(epilogue) \(shape)")
        }
    }

    /// More rows than the family serves: the norm and the product run as before, two launches.
    @Test func manyRowsKeepTheSeparateNorm() throws {
        let graph = Graph()
        let x = try graph.input("x", [RowProductFamily.maxRows + 1, 8])
        let y = try linear(try x.rmsNorm(gain: try graph.variable("g", [8])), weight: try graph.variable("w", [4, 8]), bias: nil)
        let plan = try #require(try Self.opencl.compile(graph, outputs: [y], options: CompileOptions()) as? CLPlan)
        #expect(plan.steps.count == 2)
    }
}

import Foundation
import Testing
import TensorGraph

/// Optimizers as graph ops, checked against the update rules computed on the host in Double.
@Suite struct OptimizerTests {
    /// Three AdamW steps with a known gradient (2·p, from loss = Σp²), against PyTorch's formulas.
    @Test func adamWMatchesTheHostFormula() throws {
        let graph = Graph()
        let p = try graph.variable("p", [5])
        let gradient = try p * 2
        let configuration = AdamWConfiguration(beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        let update = try adamW(parameters: [p], gradients: [gradient], configuration: configuration)
        let plan = try ReferenceBackend().compile(graph, outputs: [], assignments: update.assignments, options: CompileOptions())
        var host: [Double] = [0.5, -1, 2, 0.01, -3]
        try plan.setVariable("p", TensorData(shape: [5], floats: host.map(Float.init)))
        for (name, value) in update.initialState() { try plan.setVariable(name, value) }
        var m = [Double](repeating: 0, count: 5), v = m
        let lrs: [Float] = [0.1, 0.05, 0.02]
        for (index, lr) in lrs.enumerated() {
            let t = Double(index + 1)
            _ = try plan.run(update.feeds(step: index + 1, learningRate: lr))
            for i in 0..<5 {
                let g = 2 * host[i]
                host[i] *= 1 - Double(lr) * 0.1
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.99 * v[i] + 0.01 * g * g
                let denominator = (v[i]).squareRoot() / (1 - pow(0.99, t)).squareRoot() + 1e-8
                host[i] -= Double(lr) / (1 - pow(0.9, t)) * m[i] / denominator
            }
        }
        let device = try plan.variable("p").floats
        for (a, b) in zip(device, host) { #expect(abs(Double(a) - b) < 1e-5 * max(1, abs(b)), "p \(a) vs host \(b)") }
        #expect(try plan.variable("optimizer/p.m").floats.count == 5)
    }

    @Test func sgdWithMomentumMatchesTheHostFormula() throws {
        let graph = Graph()
        let p = try graph.variable("p", [3])
        let update = try sgd(parameters: [p], gradients: [try p * 2], momentum: 0.9, weightDecay: 0.01)
        let plan = try ReferenceBackend().compile(graph, outputs: [], assignments: update.assignments, options: CompileOptions())
        var host: [Double] = [1, -2, 0.5], buffer = [0.0, 0, 0]
        try plan.setVariable("p", TensorData(shape: [3], floats: host.map(Float.init)))
        for (name, value) in update.initialState() { try plan.setVariable(name, value) }
        for step in 1...3 {
            _ = try plan.run(update.feeds(step: step, learningRate: 0.1))
            for i in 0..<3 {
                buffer[i] = 0.9 * buffer[i] + (2 * host[i] + 0.01 * host[i])
                host[i] -= 0.1 * buffer[i]
            }
        }
        for (a, b) in zip(try plan.variable("p").floats, host) { #expect(abs(Double(a) - b) < 1e-5) }
    }

    @Test func clippingScalesToTheGlobalNorm() throws {
        let graph = Graph()
        let a = try graph.input("a", [2]), b = try graph.input("b", [1, 2])
        let clipped = try clipByGlobalNorm([a, b], maxNorm: 1)
        let loose = try clipByGlobalNorm([a, b], maxNorm: 100)
        let plan = try ReferenceBackend().compile(graph, outputs: clipped + loose, options: CompileOptions())
        let out = try plan.run(["a": TensorData(shape: [2], floats: [3, 0]), "b": TensorData(shape: [1, 2], floats: [0, 4])])
        #expect(abs(out[0].floats[0] - 0.6) < 1e-5 && abs(out[1].floats[1] - 0.8) < 1e-5)   // norm 5 → 1
        #expect(out[2].floats == [3, 0] && out[3].floats == [0, 4])                          // under the limit: unchanged
        #expect(throws: GraphError.self) { try clipByGlobalNorm([a], maxNorm: 0) }
    }

    @Test func cosineScheduleWithWarmup() {
        let cosine = LearningRateSchedule.cosine(peak: 1e-3, final: 1e-4, steps: 1000, warmup: 100)
        #expect(abs(cosine.rate(atStep: 0) - 1e-5) < 1e-9)
        #expect(abs(cosine.rate(atStep: 99) - 1e-3) < 1e-9)
        #expect(abs(cosine.rate(atStep: 100) - 1e-3) < 1e-9)
        #expect(abs(cosine.rate(atStep: 550) - 5.5e-4) < 1e-8)   // halfway through the decay
        #expect(cosine.rate(atStep: 1000) == 1e-4 && cosine.rate(atStep: 5000) == 1e-4)
        let reference = LearningRateSchedule.cosine(peak: 7e-4, final: 0, steps: 50_000, warmup: 0)
        #expect(reference.rate(atStep: 0) == 7e-4)
        #expect(abs(reference.rate(atStep: 25_000) - 3.5e-4) < 1e-9)
        #expect(LearningRateSchedule.constant(0.1).rate(atStep: 12345) == 0.1)
    }

    @Test func mismatchedGradientsAreRefused() throws {
        let graph = Graph()
        let p = try graph.variable("p", [3])
        let x = try graph.input("x", [3])
        #expect(throws: GraphError.self) { try adamW(parameters: [p], gradients: [try x.reshape([1, 3])], configuration: AdamWConfiguration()) }
        #expect(throws: GraphError.self) { try adamW(parameters: [x], gradients: [x], configuration: AdamWConfiguration()) }
        #expect(throws: GraphError.self) { try sgd(parameters: [p, p], gradients: [x]) }
    }
}

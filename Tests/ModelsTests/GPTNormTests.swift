import CLBackend
import Foundation
import Models
import TensorGraph
import Testing

/// The GPT with the proportions norm and with no norm: trained on the device as on the reference,
/// decoded through the cache as by recomputation, and recorded in the configuration.
@Suite struct GPTNormTests {
    @Test(arguments: [GPTConfiguration.Norm.proportions, .identity])
    func deviceTrainingMatchesTheReference(norm: GPTConfiguration.Norm) throws {
        var model = GPTTests.small
        model.norm = norm
        let stream = TokenStream(tokens: (0..<300).map { Int32(($0 * 7 + $0 / 3) % 11) }, source: "synthetic")
        let data = try StreamWindows(stream: stream, length: 7)
        let settings = OptimizerSettings(learningRate: 3e-3, finalLearningRate: 3e-4, warmupSteps: 1, steps: 4,
                                         weightDecay: 0.1, beta2: 0.99, gradientClip: 1)
        func trainer(_ backend: any Backend) throws -> GPTTrainer {
            try GPTTrainer(model: model, settings: settings, batchSize: 3, data: data, backend: backend,
                           parameters: GPTModel.initialParameters(model))
        }
        let device = try trainer(try GPTTests.shared.get()), reference = try trainer(ReferenceBackend())
        var losses: [(Float, Float)] = []
        for _ in 0..<settings.steps { losses.append((try device.trainStep(), try reference.trainStep())) }
        #expect(losses.last!.0 < losses.first!.0, "loss should fall: \(losses)")
        for (d, r) in losses { #expect(abs(d - r) < 1e-4, "device \(d) vs reference \(r)") }
        let a = try device.parameters(), b = try reference.parameters()
        for (name, value) in b {
            let error = zip(value.floats, a[name]!.floats).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
            let power = value.floats.map { Double($0) * Double($0) }.reduce(0, +)
            #expect(error / max(power, 1e-30) < 1e-8, "\(name)")
        }
    }

    @Test(arguments: [GPTConfiguration.Norm.proportions, .identity])
    func cachedDecodingEqualsRecomputation(norm: GPTConfiguration.Norm) throws {
        var model = GPTTests.small
        model.norm = norm
        let parameters = GPTTests.spreadParameters(model)
        var greedy = Sampler(greedy: true)
        let cached = try GPTGenerator(model, parameters: parameters, backend: try GPTTests.shared.get())
            .generate(prompt: [0, 4, 2], maxTokens: 6, sampler: &greedy)
        let full = try GPTGenerator(model, parameters: parameters, backend: try GPTTests.shared.get(), useCache: false)
            .generate(prompt: [0, 4, 2], maxTokens: 6, sampler: &greedy)
        #expect(cached == full)
    }

    @Test func parametersAndConfigurationFollowTheNorm() throws {
        var model = GPTTests.small
        let layerNormNames = Set(model.parameterShapes.map(\.name))
        model.norm = .proportions
        let proportions = Set(model.parameterShapes.map(\.name))
        // Gain only: the norms' biases go, their weights stay.
        #expect(layerNormNames.subtracting(proportions) == Set(layerNormNames.filter { $0.contains("ln_") && $0.hasSuffix(".bias") }))
        #expect(proportions.isSubset(of: layerNormNames))
        model.norm = .identity
        #expect(!model.parameterShapes.contains { $0.name.contains("ln_") })
        for norm in GPTConfiguration.Norm.allCases {
            model.norm = norm
            let decoded = try JSONDecoder().decode(GPTConfiguration.self, from: try JSONEncoder().encode(model))
            #expect(decoded == model)
        }
        #expect(GPTConfiguration.Norm(rawValue: "none") == .identity && GPTConfiguration.Norm(rawValue: "proportions") == .proportions)
    }
}

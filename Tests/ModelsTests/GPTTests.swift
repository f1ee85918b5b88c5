import CLBackend
import Foundation
import Models
import TensorGraph
import Testing

/// The GPT: data layout, device training against the reference, and KV-cache decoding.
@Suite struct GPTTests {
    static let small = GPTConfiguration(vocabulary: 11, blockSize: 9, layers: 2, heads: 2, embedding: 16)
    /// One backend for the suite, so its programs are built once.
    static let shared = Result { try OpenCLBackend() }

    /// Weights large enough that the logits are far from ties (the reference init gives near-uniform ones).
    static func spreadParameters(_ c: GPTConfiguration) -> [String: TensorData] {
        var random = XorShiftRandom(seed: 7)
        var values = GPTModel.initialParameters(c)
        for (name, shape) in c.parameterShapes where shape.rank >= 2 {
            values[name] = TensorData(shape: shape, floats: random.normalArray(count: shape.count, std: 0.4))
        }
        return values
    }

    @Test func nameSequencesStartAndEndWithTheEndToken() throws {
        let stream = TokenStream(tokens: [3, 4, 0, 5, 0, 6, 7, 8, 0], source: "names")
        let length = NameSequences.length(fitting: [stream])
        #expect(length == 4)
        let names = try NameSequences(stream: stream, length: length)
        #expect(names.evaluationCount == 3)
        let e = names.evaluationExample(0)
        #expect(e.inputs == [0, 3, 4, 0])
        #expect(e.targets == [3, 4, 0, -1])
        #expect(names.evaluationExample(2).targets == [6, 7, 8, 0])
        #expect(throws: DataError.self) { try NameSequences(stream: stream, length: 3) }
        let batch = SequenceBatch.evaluation(names, batch: 2, index: 1)
        #expect(batch.counted == 4, "one name of 3 + end, one padding row")
    }

    @Test(arguments: [GPTConfiguration.Positions.learned, .rotary])
    func deviceTrainingMatchesTheReference(positions: GPTConfiguration.Positions) throws {
        var model = Self.small
        model.positions = positions
        let stream = TokenStream(tokens: (0..<300).map { Int32(($0 * 7 + $0 / 3) % 11) }, source: "synthetic")
        let data = try StreamWindows(stream: stream, length: 7)
        let settings = OptimizerSettings(learningRate: 3e-3, finalLearningRate: 3e-4, warmupSteps: 1, steps: 5,
                                         weightDecay: 0.1, beta2: 0.99, gradientClip: 1)
        func trainer(_ backend: any Backend) throws -> GPTTrainer {
            try GPTTrainer(model: model, settings: settings, batchSize: 3, data: data, backend: backend,
                           parameters: GPTModel.initialParameters(model))
        }
        let device = try trainer(try Self.shared.get()), reference = try trainer(ReferenceBackend())
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

    @Test(arguments: [GPTConfiguration.Positions.learned, .rotary])
    func greedyDecodingWithTheCacheEqualsFullRecomputation(positions: GPTConfiguration.Positions) throws {
        var model = Self.small
        model.positions = positions
        let parameters = Self.spreadParameters(model)
        let cached = try GPTGenerator(model, parameters: parameters, backend: try Self.shared.get())
        let full = try GPTGenerator(model, parameters: parameters, backend: try Self.shared.get(), useCache: false)
        var greedy = Sampler(greedy: true)
        // 20 tokens from a 3-token prompt pass the 9-position block: the cache slides once.
        let a = try cached.generate(prompt: [0, 4, 2], maxTokens: 20, sampler: &greedy)
        let b = try full.generate(prompt: [0, 4, 2], maxTokens: 6, sampler: &greedy)
        #expect(a.count == 20)
        #expect(Array(a.prefix(6)) == b, "cache \(a) vs recomputed \(b)")
        #expect(cached.decodeTokens > 0 && full.decodeTokens == 0)
        // The reference backend decoding through the cache agrees too.
        let reference = try GPTGenerator(model, parameters: parameters, backend: ReferenceBackend())
        #expect(try reference.generate(prompt: [0, 4, 2], maxTokens: 6, sampler: &greedy) == b)
    }

    @Test func fusedAndUnfusedAttentionGiveTheSameLoss() throws {
        let model = Self.small
        let stream = TokenStream(tokens: (0..<200).map { Int32(($0 * 5 + $0 / 4) % 11) }, source: "synthetic")
        let data = try StreamWindows(stream: stream, length: 9)
        var losses: [Double] = []
        for attention in [AttentionLowering.fused, .unfused] {
            let evaluator = try GPTEvaluator(model, sequence: 9, batchSize: 4, backend: try Self.shared.get(),
                                             options: CompileOptions(attention: attention))
            try evaluator.setParameters(Self.spreadParameters(model))
            losses.append(try evaluator.loss(of: data))
        }
        #expect(abs(losses[0] - losses[1]) < 1e-5 * losses[0], "\(losses)")
    }

    @Test func attentionMapsAreCausalDistributionsAndMatchTheFusedLogits() throws {
        let model = Self.small, parameters = Self.spreadParameters(model)
        let tokens: [Int32] = [0, 3, 5, 5, 1]
        let inspection = try GPTInspection(model, parameters: parameters, tokens: tokens, backend: try Self.shared.get())
        #expect(inspection.maps.count == model.layers && inspection.maps[0].count == model.heads)
        for layer in inspection.maps {
            for head in layer {
                for (q, row) in head.enumerated() {
                    #expect(abs(row.reduce(0, +) - 1) < 1e-5)
                    #expect(row[(q + 1)...].allSatisfy { $0 == 0 }, "query \(q) sees a later key: \(row)")
                }
            }
        }
        // The materialised maps give the same next-token logits as the fused forward pass.
        let forward = try GPTModel.forward(model, batch: 1, sequence: tokens.count)
        let plan = try Self.shared.get().compile(forward.graph, outputs: [forward.logits], options: CompileOptions(attention: .fused))
        for (name, value) in parameters { try plan.setVariable(name, value) }
        let logits = try plan.run(GPTModel.forwardFeeds(model, tokens: tokens, batch: 1, sequence: tokens.count))[0].floats
        let last = Array(logits[((tokens.count - 1) * model.vocabulary)...])
        for (a, b) in zip(last, inspection.nextLogits) { #expect(abs(a - b) < 1e-4) }
        let text = inspection.textHeatMap(layer: 1, head: 0, labels: ["⏎", "c", "e", "e", "a"])
        #expect(text.split(separator: "\n").count == 2 + tokens.count)
        #expect(inspection.svg(labels: ["⏎", "c", "e", "e", "a"], title: "t").hasPrefix("<svg"))
    }
}

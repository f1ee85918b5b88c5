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
        let error = #expect(throws: DataError.self) { try NameSequences(stream: stream, length: 3) }
        #expect(error == .nameTooLong(source: "names", line: 3, characters: 3, length: 3), "the third line's name does not fit")
        let batch = SequenceBatch.evaluation(names, batch: 2, index: 1)
        #expect(batch.counted == 4, "one name of 3 + end, one padding row")
    }

    @Test(arguments: [GPTConfiguration.Positions.learned, .rotary])
    func deviceTrainingMatchesTheReference(positions: GPTConfiguration.Positions) throws {
        var model = Self.small
        model.positions = positions
        model.norm = positions == .rotary ? .rmsNorm : .layerNorm   // both norms, both position kinds
        let stream = TokenStream(tokens: (0..<300).map { Int32(($0 * 7 + $0 / 3) % 11) }, source: "synthetic")
        let data = try StreamWindows(stream: stream, length: 7)
        let settings = OptimizerSettings(learningRate: 3e-3, finalLearningRate: 3e-4, warmupSteps: 1, steps: 5,
                                         weightDecay: 0.1, beta2: 0.99, gradientClip: 1)
        // Rotary runs with dropout: the device draws the reference's masks.
        func trainer(_ backend: any Backend) throws -> GPTTrainer {
            try GPTTrainer(model: model, settings: settings, batchSize: 3, data: data, backend: backend,
                           parameters: GPTModel.initialParameters(model), dropout: positions == .rotary ? 0.2 : 0)
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

    /// The whole model's gradients (autograd through every block, the position table's broadcast,
    /// the head split and merge, the masked loss) against central differences on the reference backend.
    @Test(arguments: [GPTConfiguration.Positions.learned, .rotary])
    func gradientsOfTheWholeModelMatchFiniteDifferences(positions: GPTConfiguration.Positions) throws {
        let model = GPTConfiguration(vocabulary: 7, blockSize: 5, layers: 2, heads: 2, embedding: 8, positions: positions)
        let forward = try GPTModel.forward(model, batch: 2, sequence: 5)
        let targets = try forward.graph.input("targets", [10], dtype: .i32)
        let loss = try crossEntropy(logits: forward.logits, targets: targets, ignoreIndex: ignoredTarget)
        let names = model.parameterShapes.map(\.name)
        let grads = try gradients(of: loss, wrt: names.map { forward.parameters[$0]! })
        let backend = ReferenceBackend()
        let gradientPlan = try backend.compile(forward.graph, outputs: grads, options: CompileOptions())
        let lossPlan = try backend.compile(forward.graph, outputs: [loss], options: CompileOptions())
        var parameters = Self.spreadParameters(model)
        var random = XorShiftRandom(seed: 3)
        for (name, shape) in model.parameterShapes where shape.rank == 1 {   // gains and biases away from 1 and 0
            parameters[name] = TensorData(shape: shape, floats: random.uniformArray(count: shape.count, lo: -0.5, hi: 1.5))
        }
        for plan in [gradientPlan, lossPlan] { for (name, value) in parameters { try plan.setVariable(name, value) } }
        let batch = SequenceBatch(inputs: [0, 3, 5, 1, 0, 0, 2, 2, 6, 4], targets: [3, 5, 1, 0, -1, 2, 2, 6, 4, 0])
        let feeds = GPTModel.forwardFeeds(model, tokens: batch.inputs, batch: 2, sequence: 5)
            .merging(["targets": TensorData(shape: [10], ints: batch.targets)]) { a, _ in a }
        let analytic = try gradientPlan.run(feeds)
        let (worst, detail) = try worstParameterGradientMismatch(names: names, analytic: analytic, parameters: parameters,
                                                                 lossPlan: lossPlan, feeds: feeds) { _, count in
            (0..<4).map { _ in Int(random.next()) % count }
        }
        #expect(worst <= 1, "\(detail)")
    }

    /// 3 steps, checkpoint (with the configuration), reload, 3 more == 6 straight: weights, moments,
    /// schedule, batches and dropout masks all resume exactly.
    @Test func resumingFromACheckpointContinuesExactly() throws {
        let model = Self.small
        let data = try StreamWindows(stream: TokenStream(tokens: (0..<300).map { Int32(($0 * 3 + $0 / 7) % 11) }, source: "s"), length: 9)
        let settings = OptimizerSettings(learningRate: 3e-3, finalLearningRate: 3e-4, steps: 6, weightDecay: 0.1, beta2: 0.99)
        func trainer(_ parameters: [String: TensorData]? = nil, state: [String: TensorData] = [:], step: Int = 0) throws -> GPTTrainer {
            try GPTTrainer(model: model, settings: settings, batchSize: 2, data: data, backend: try Self.shared.get(),
                           parameters: parameters ?? GPTModel.initialParameters(model), optimizerState: state, step: step, dropout: 0.1)
        }
        let straight = try trainer()
        for _ in 0..<6 { try straight.trainStep() }
        let first = try trainer()
        for _ in 0..<3 { try first.trainStep() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-gpt-resume-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let json = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
        try Checkpoint(kind: "gpt", configurationJSON: json, vocabulary: CharVocabulary(characters: Array("abcdefghijk")), step: first.step,
                       parameters: try first.parameters(), optimizerState: try first.optimizerState()).write(to: path)
        let loaded = try Checkpoint.read(path, expectedShapes: model.parameterShapes)
        #expect(try JSONDecoder().decode(GPTConfiguration.self, from: Data(loaded.configurationJSON.utf8)) == model)
        let resumed = try trainer(loaded.parameters, state: loaded.optimizerState, step: loaded.step)
        for _ in 0..<3 { try resumed.trainStep() }
        for (name, value) in try straight.parameters() {
            #expect(try resumed.parameters()[name]!.floats == value.floats, "\(name) differs after resuming")
        }
    }
}

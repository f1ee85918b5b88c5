import CLBackend
import Foundation
import Models
import TensorGraph
import Testing

/// babyLLM: the causal windowed means against a direct loop, gradients against finite
/// differences, device against reference, checkpoints, generation and inspection.
@Suite struct BabyLLMTests {
    static let small = BabyLLMConfiguration(vocabulary: 11, blockSize: 9, embedding: 8, neurons: 6, memory: 10, windows: [1, 2, 4, 16])
    /// One backend for the suite, so its programs are built once.
    static let shared = Result { try OpenCLBackend() }

    /// Weights large enough that activations and logits are far from ties and the window mix is uneven.
    static func spreadParameters(_ c: BabyLLMConfiguration, seed: UInt64 = 7) -> [String: TensorData] {
        var random = XorShiftRandom(seed: seed)
        var values = BabyLLMModel.initialParameters(c)
        for (name, shape) in c.parameterShapes where shape.rank >= 2 || name == "window_logits" {
            values[name] = TensorData(shape: shape, floats: random.normalArray(count: shape.count, std: 0.5))
        }
        return values
    }

    /// `Σ_w p_w · mean(x[b, max(0, t−w+1) … t, c])` of `x` `[batch, t, channels]`, written as the definition says.
    static func directWindowMeans(_ x: [Float], batch: Int, t: Int, channels: Int, windows: [Int], weights: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: batch * t * channels)
        for b in 0..<batch {
            for i in 0..<t {
                for c in 0..<channels {
                    var total = 0.0
                    for (k, w) in windows.enumerated() {
                        let first = max(0, i - w + 1)
                        let sum = (first...i).reduce(0.0) { $0 + Double(x[(b * t + $1) * channels + c]) }
                        total += Double(weights[k]) * sum / Double(i - first + 1)
                    }
                    out[(b * t + i) * channels + c] = Float(total)
                }
            }
        }
        return out
    }

    @Test(arguments: WindowMeanMethod.allCases)
    func windowMeansEqualADirectLoop(method: WindowMeanMethod) throws {
        let windows = [1, 2, 4, 8, 16, 32, 64]
        var random = XorShiftRandom(seed: 11)
        for t in [1, 7, 33] {
            for (batch, channels) in [(1, 1), (2, 13), (3, 1)] {
                let graph = Graph()
                let x = try graph.input("x", [batch, t, channels]), weights = try graph.input("p", [windows.count])
                let out = try causalWindowMeans(x, windows: windows, weights: weights, method: method)
                #expect(out.shape == Shape([batch, t, channels]))
                let xs = random.uniformArray(count: batch * t * channels, lo: -2, hi: 2)
                let raw = random.uniformArray(count: windows.count, lo: 0, hi: 1), total = raw.reduce(0, +)
                let ps = raw.map { $0 / total }
                let got = try ReferenceBackend().compile(graph, outputs: [out], options: CompileOptions())
                    .run(["x": TensorData(shape: [batch, t, channels], floats: xs), "p": TensorData(shape: [windows.count], floats: ps)])[0].floats
                let expected = Self.directWindowMeans(xs, batch: batch, t: t, channels: channels, windows: windows, weights: ps)
                let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
                #expect(worst < 1e-5, "\(method) T \(t) batch \(batch) channels \(channels): worst difference \(worst)")
            }
        }
    }

    @Test func windowMeansRejectMismatchedWeights() throws {
        let graph = Graph()
        let error = #expect(throws: GraphError.self) {
            try causalWindowMeans(try graph.input("x", [2, 5, 3]), windows: [1, 2], weights: try graph.input("p", [3]))
        }
        #expect(error?.op == "causalWindowMeans")
        #expect(throws: GraphError.self) { try BabyLLMModel.forward(Self.small, batch: 1, sequence: 10) }
    }

    /// The whole model's gradients for every window logit and some neuron weights, against central
    /// differences on the reference backend, with either windowed-mean method (whose gradients
    /// must also agree with each other).
    @Test func gradientsMatchFiniteDifferencesWithBothMethods() throws {
        let model = BabyLLMConfiguration(vocabulary: 7, blockSize: 5, embedding: 4, neurons: 3, memory: 5, windows: [1, 2, 3, 8])
        let parameters = Self.spreadParameters(model)
        let batch = SequenceBatch(inputs: [0, 3, 5, 1, 0, 0, 2, 2, 6, 4], targets: [3, 5, 1, 0, -1, 2, 2, 6, 4, 0])
        let feeds = BabyLLMModel.forwardFeeds(tokens: batch.inputs, batch: 2, sequence: 5)
            .merging(["targets": TensorData(shape: [10], ints: batch.targets)]) { a, _ in a }
        let names = ["window_logits", "neurons.weight", "neurons.bias"]
        var analyticByMethod: [[TensorData]] = []
        var random = XorShiftRandom(seed: 5)
        for method in WindowMeanMethod.allCases {
            let forward = try BabyLLMModel.forward(model, batch: 2, sequence: 5, method: method)
            let targets = try forward.graph.input("targets", [10], dtype: .i32)
            let loss = try crossEntropy(logits: forward.logits, targets: targets, ignoreIndex: ignoredTarget)
            let grads = try gradients(of: loss, wrt: names.map { forward.parameters[$0]! })
            let backend = ReferenceBackend()
            let gradientPlan = try backend.compile(forward.graph, outputs: grads, options: CompileOptions())
            let lossPlan = try backend.compile(forward.graph, outputs: [loss], options: CompileOptions())
            for plan in [gradientPlan, lossPlan] { try forward.model.load(parameters, into: plan) }
            let analytic = try gradientPlan.run(feeds)
            analyticByMethod.append(analytic)
            let (worst, detail) = try worstParameterGradientMismatch(names: names, analytic: analytic, parameters: parameters,
                                                                     lossPlan: lossPlan, feeds: feeds) { name, count in
                name == "neurons.weight" ? (0..<4).map { _ in Int(random.next()) % count } : Array(0..<count)
            }
            #expect(worst <= 1, "\(method): \(detail)")
            #expect(analytic[0].floats.contains { abs($0) > 1e-4 }, "\(method): the window logits get no gradient")
        }
        for (band, cumsum) in zip(analyticByMethod[0], analyticByMethod[1]) {
            let worst = zip(band.floats, cumsum.floats).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-5, "band and cumsum gradients differ by \(worst)")
        }
    }

    /// Forward (both methods) and four training steps on the device against the reference backend.
    @Test func deviceForwardAndTrainingMatchTheReference() throws {
        let device = try Self.shared.get()
        let model = Self.small
        let parameters = Self.spreadParameters(model)
        let tokens: [Int32] = (0..<18).map { (i: Int) -> Int32 in Int32((i * 5 + i / 4) % 11) }
        func logits(_ backend: any Backend, _ method: WindowMeanMethod) throws -> [Float] {
            let forward = try BabyLLMModel.forward(model, batch: 2, sequence: 9, method: method)
            let plan = try backend.compile(forward.graph, outputs: [forward.logits], options: CompileOptions())
            try forward.model.load(parameters, into: plan)
            return try plan.run(BabyLLMModel.forwardFeeds(tokens: tokens, batch: 2, sequence: 9))[0].floats
        }
        let reference = try logits(ReferenceBackend(), .band)
        for method in WindowMeanMethod.allCases {
            let got = try logits(device, method)
            let worst = zip(got, reference).map { (a: Float, b: Float) -> Float in abs(a - b) }.max() ?? 0
            #expect(worst < 1e-4, "device \(method) logits differ from the reference by \(worst)")
        }

        let stream = TokenStream(tokens: (0..<300).map { Int32(($0 * 7 + $0 / 3) % 11) }, source: "synthetic")
        let data = try StreamWindows(stream: stream, length: 9)
        let settings = OptimizerSettings(learningRate: 3e-3, finalLearningRate: 3e-4, warmupSteps: 1, steps: 4,
                                         weightDecay: 0.1, beta2: 0.99, gradientClip: 1)
        func trainer(_ backend: any Backend) throws -> BabyLLMTrainer {
            try BabyLLMTrainer(model: model, settings: settings, batchSize: 3, data: data, backend: backend, parameters: parameters)
        }
        let onDevice = try trainer(device), onReference = try trainer(ReferenceBackend())
        var losses: [(Float, Float)] = []
        for _ in 0..<settings.steps { losses.append((try onDevice.trainStep(), try onReference.trainStep())) }
        #expect(losses.last!.0 < losses.first!.0, "loss should fall: \(losses)")
        for (d, r) in losses { #expect(abs(d - r) < 1e-4, "device \(d) vs reference \(r)") }
        let a = try onDevice.parameters(), b = try onReference.parameters()
        #expect(a["window_logits"]!.floats != parameters["window_logits"]!.floats, "the window logits did not train")
        for (name, value) in b {
            let error = zip(value.floats, a[name]!.floats).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
            let power = value.floats.map { Double($0) * Double($0) }.reduce(0, +)
            #expect(error / max(power, 1e-30) < 1e-8, "\(name)")
        }
    }

    @Test func checkpointsRoundTripAndCorruptOnesAreRefused() throws {
        let model = Self.small
        let parameters = Self.spreadParameters(model)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-babyllm-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("babyllm.safetensors").path
        let json = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
        try Checkpoint(kind: "babyllm", configurationJSON: json, vocabulary: CharVocabulary(characters: Array("abcdefghijk")), step: 3,
                       parameters: parameters).write(to: path)
        let loaded = try Checkpoint.read(path, expectedShapes: model.parameterShapes)
        #expect(loaded.kind == "babyllm" && loaded.step == 3)
        #expect(try JSONDecoder().decode(BabyLLMConfiguration.self, from: Data(loaded.configurationJSON.utf8)) == model)
        for (name, value) in parameters { #expect(loaded.parameters[name]?.floats == value.floats, "\(name)") }

        var wider = model
        wider.neurons += 1
        #expect(throws: SafeTensors.CheckpointError.self) { try Checkpoint.read(path, expectedShapes: wider.parameterShapes) }
        var fewerWindows = model
        fewerWindows.windows = [1, 2]
        #expect(throws: SafeTensors.CheckpointError.self) { try Checkpoint.read(path, expectedShapes: fewerWindows.parameterShapes) }

        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let truncated = folder.appendingPathComponent("truncated.safetensors").path
        try bytes.prefix(bytes.count - 16).write(to: URL(fileURLWithPath: truncated))
        let error = #expect(throws: SafeTensors.CheckpointError.self) { try Checkpoint.read(truncated) }
        #expect("\(error.map { "\($0)" } ?? "")".contains(truncated))
    }

    /// The generator's padded block gives the logits of an unpadded forward pass (the windows are
    /// causal), and the inspection's window weights are the softmax of the window logits.
    @Test func generationAndInspectionReadTheForwardPass() throws {
        let model = Self.small
        let parameters = Self.spreadParameters(model)
        let backend = ReferenceBackend()
        let generator = try BabyLLMGenerator(model, parameters: parameters, backend: backend)
        let context: [Int32] = [3, 1, 4, 1, 5]
        let inspection = try BabyLLMInspection(model, parameters: parameters, tokens: context, backend: backend)
        let padded = try generator.nextLogits(context)
        #expect(zip(padded, inspection.nextLogits).allSatisfy { abs($0 - $1) < 1e-5 }, "padding after the context leaked into its logits")

        let logits = parameters["window_logits"]!.floats
        let top = logits.max()!, exps = logits.map { Foundation.exp(Double($0 - top)) }, total = exps.reduce(0, +)
        #expect(inspection.windowWeights.map(\.window) == model.windows)
        for (weight, expected) in zip(inspection.windowWeights.map(\.weight), exps.map { $0 / total }) {
            #expect(abs(Double(weight) - expected) < 1e-6)
        }
        #expect(inspection.activations.count == context.count && inspection.activations[0].count == model.neurons)
        let top3 = inspection.topNeurons(at: 2, count: 3)
        #expect(top3.count == 3 && top3[0].activation >= top3[1].activation && top3[1].activation >= top3[2].activation)
        #expect(top3[0].activation == inspection.activations[2].max())
        #expect(inspection.topNeuronsOverall(count: 100).count == model.neurons)

        var sampler = Sampler(greedy: true)
        let tokens = try generator.generate(prompt: context, maxTokens: 12, sampler: &sampler)
        #expect(tokens.count == 12, "a context longer than the block slides")
        #expect(tokens[0] == Int32(inspection.nextLogits.indices.max { inspection.nextLogits[$0] < inspection.nextLogits[$1] }!))
        #expect(throws: GraphError.self) { try generator.generate(prompt: [], maxTokens: 1, sampler: &sampler) }
    }
}

import CLBackend
import Models
import TensorGraph
import Testing

/// Data-parallel training without MPI: two ranks simulated in one process (their buffers summed
/// here) against a single process training on the doubled batch, and one rank against the
/// single-plan trainer.
@Suite struct DataParallelTrainingTests {
    /// One backend for the suite, so its programs are built once.
    static let shared = Result { try OpenCLBackend() }

    /// Names of 1 to 6 letters (vocabulary 11, token 0 ends a name): rows count different numbers
    /// of targets, so the ranks' weights differ.
    static let data: NameSequences = {
        var tokens: [Int32] = []
        for i in 0..<40 {
            tokens += (0..<(1 + (i * 5) % 6)).map { Int32(1 + (i * 3 + $0 * 7) % 10) }
            tokens.append(0)
        }
        return try! NameSequences(stream: TokenStream(tokens: tokens, source: "synthetic names"), length: 8)
    }()

    static let model = GPTConfiguration(vocabulary: 11, blockSize: 8, layers: 1, heads: 2, embedding: 16)

    /// A rank of a simulated group: the test sums the buffers itself.
    final class SimulatedRank: GradientReducer {
        let rank: Int, size: Int
        init(rank: Int, size: Int) { (self.rank, self.size) = (rank, size) }
        func allReduceSum(_ buffer: inout [Float], step: Int) throws {
            Issue.record("the simulated ranks are stepped by the test")
        }
    }

    /// Largest element-wise difference of two sets of named tensors.
    static func largestDifference(_ a: [String: TensorData], _ b: [String: TensorData]) -> Float {
        var largest: Float = 0
        for (name, value) in a {
            for (x, y) in zip(value.floats, b[name]!.floats) { largest = max(largest, abs(x - y)) }
        }
        return largest
    }

    @Test func twoRanksMatchOneProcessWithTheDoubledBatch() throws {
        let backend = try Self.shared.get()
        // Clip 0.05 binds from the first step, so the clipping must see the summed gradient's norm.
        let settings = OptimizerSettings(learningRate: 1e-2, finalLearningRate: 1e-3, warmupSteps: 1, steps: 6,
                                         weightDecay: 0.1, beta2: 0.99, gradientClip: 0.05)
        let start = GPTModel.initialParameters(Self.model, seed: 7)
        let single = try GPTTrainer(model: Self.model, settings: settings, batchSize: 6, data: Self.data, backend: backend,
                                    parameters: start, dataSeed: 11)
        let ranks = try (0..<2).map { rank in
            try GPTDataParallelTrainer(model: Self.model, settings: settings, rankBatch: 3, data: Self.data, backend: backend,
                                       reducer: SimulatedRank(rank: rank, size: 2), parameters: start, dataSeed: 11)
        }
        // Rank r takes rows 3r..<3r+3 of the single process's batch; the weights are the shares of its targets.
        let global = SequenceBatch.training(Self.data, batch: 6, step: 0, seed: 11)
        let shards = ranks.map { $0.shard() }
        #expect(shards[0].feeds["tokens"]!.ints + shards[1].feeds["tokens"]!.ints == global.inputs)
        #expect(shards[0].feeds["targets"]!.ints + shards[1].feeds["targets"]!.ints == global.targets)
        #expect(shards[0].weight != shards[1].weight, "the shards count different numbers of targets")
        #expect(abs(shards[0].weight + shards[1].weight - 1) < 1e-6)

        var losses: [(single: Float, ranks: Float)] = []
        for _ in 0..<settings.steps {
            let expected = try single.trainStep()
            var summed = try ranks[0].localGradients()
            for (i, value) in try ranks[1].localGradients().enumerated() { summed[i] += value }
            let loss = try ranks[0].apply(summed)
            #expect(try ranks[1].apply(summed) == loss, "both ranks apply the same buffer")
            losses.append((expected, loss))
        }
        // The ranks sum their halves of each gradient reduction (and of the loss) separately and
        // then add them: the same terms in another order, so float rounding (an ulp or two of the
        // loss on pocl) is the only difference. AdamW divides by √v, which carries such rounding
        // into the weights at about lr·1e-4 after a few steps; a wrong weighting or clipping
        // shows at 1e-4 relative in the loss and 1e-2 in the weights.
        #expect(losses.last!.single < losses.first!.single, "loss should fall: \(losses)")
        for (expected, loss) in losses { #expect(abs(expected - loss) <= 1e-6 * abs(expected), "single \(expected) vs ranks \(loss)") }
        let weights = try single.parameters()
        #expect(Self.largestDifference(weights, try ranks[0].parameters()) <= 1e-5)
        #expect(Self.largestDifference(try ranks[0].parameters(), try ranks[1].parameters()) == 0, "the ranks' weights are identical")
        #expect(Self.largestDifference(try single.optimizerState(), try ranks[0].optimizerState()) <= 1e-7)
    }

    @Test func oneRankMatchesTheSingleProcessTrainer() throws {
        let backend = try Self.shared.get()
        let settings = OptimizerSettings(learningRate: 1e-2, finalLearningRate: 1e-3, steps: 4, weightDecay: 0.01, beta2: 0.99)
        let start = GPTModel.initialParameters(Self.model, seed: 3)
        let single = try GPTTrainer(model: Self.model, settings: settings, batchSize: 3, data: Self.data, backend: backend,
                                    parameters: start, dataSeed: 5)
        let alone = try GPTDataParallelTrainer(model: Self.model, settings: settings, rankBatch: 3, data: Self.data, backend: backend,
                                               reducer: SingleRankReducer(), parameters: start, dataSeed: 5)
        var expected = 0.0
        for _ in 0..<settings.steps {
            expected += Double(try single.trainStep())
            try alone.enqueueStep()
        }
        // The same kernels on the same rows; only the update runs as its own plan (bit-identical on pocl).
        let lossSum = try alone.takeLossSum()
        #expect(abs(lossSum - expected) <= 1e-6 * abs(expected), "loss sums \(lossSum) vs \(expected)")
        #expect(alone.step == settings.steps)
        #expect(Self.largestDifference(try single.parameters(), try alone.parameters()) <= 1e-6)
    }
}
